"""Model files written before the zoo's ResNets were built from recast's blocks still load
(upgrade_state_dict renames their keys) and score as when they were saved: to float rounding,
since another CPU's conv kernels sum in another order (measured: 1e-6 on logits of up to 7.3
between an AMD Zen 5 and an Intel Xeon), while a misplaced key moves the logits by whole units.

tests/scnas/data/{resnet20,resnet_bottleneck}_v1.pt were written by the old zoo in the format
`scnas train` writes model.pt (create_model(name, 1, 10, 28) with every tensor perturbed by a
seeded draw, so a misplaced key shows in the logits); zoo_v1_logits.pt holds a fixed input of
two images and each model's logits on it, recorded then.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch

from recast.blocks import block_type_of
from recast.procedure import _teacher_hash
from scnas.rundir import atomic_torch_save
from scnas.sweep import model_hash
from scnas.train import load_model
from scnas.zoo import MODELS, RESNETS, create_model, upgrade_state_dict
from sc_accel.fileio import load_tensors

DATA = Path(__file__).parent / "data"
SAVED = ("resnet20", "resnet_bottleneck")


@pytest.fixture(scope="module")
def recorded() -> dict:
    return load_tensors(DATA / "zoo_v1_logits.pt", "fixture")


def _logits(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(x)


def _same_logits(got: torch.Tensor, want: torch.Tensor) -> None:
    """Equal up to float32 rounding of a different summation order (a few ulps of the largest)."""
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * float(want.abs().max()))


@pytest.mark.parametrize("name", SAVED)
def test_an_old_teacher_loads_and_gives_the_recorded_logits(name, recorded):
    model, meta = load_model(DATA / f"{name}_v1.pt")
    assert meta["arch"] == name
    _same_logits(_logits(model, recorded["input"]), recorded[name])


@pytest.mark.parametrize("name", SAVED)
def test_an_old_students_teacher_blocks_load(name, recorded, tmp_path):
    """A recast student.pt whose blocks are still the (old) teacher's: blocks.i.* = stages.i.*."""
    teacher = tmp_path / "teacher.pt"
    shutil.copy(DATA / f"{name}_v1.pt", teacher)
    old = load_tensors(teacher, "fixture")["state_dict"]
    fresh = create_model(name, 1, 10, 28)
    spec = [{"source": "teacher", "index": i, "type": None, "in": 0, "out": 0, "stride": 1, "width": 1.0}
            for i in range(len(fresh.blocks))]
    atomic_torch_save({"kind": "recast-student", "teacher": str(teacher), "arch": f"{name}-none", "dataset": "x",
                       "spec": spec, "head_in": fresh.head[-1].in_features, "modules": None,
                       "state_dict": {k.replace("stages.", "blocks.", 1): v for k, v in old.items()}},
                      tmp_path / "student.pt")
    student, _ = load_model(tmp_path)
    _same_logits(_logits(student, recorded["input"]), recorded[name])


@pytest.mark.parametrize("name", MODELS.names())
def test_current_keys_pass_unchanged(name):
    state = create_model(name).state_dict()
    assert upgrade_state_dict(name, state) is state


def test_old_block_keys_map_by_the_table():
    old = load_tensors(DATA / "resnet_bottleneck_v1.pt", "fixture")["state_dict"]
    new = upgrade_state_dict("resnet_bottleneck", old)
    assert list(new) == list(create_model("resnet_bottleneck").state_dict())
    assert torch.equal(new["stages.0.body.7.running_var"], old["stages.0.body.2.1.running_var"])
    assert torch.equal(new["stages.3.short.0.weight"], old["stages.3.short.0.weight"])


@pytest.mark.parametrize("name", RESNETS)
def test_zoo_resnets_are_recast_blocks(name):
    kinds = {block_type_of(b) for b in create_model(name).blocks}
    assert kinds == {"bottleneck" if "bottleneck" in name else "basic"}


def test_create_model_leaves_the_callers_generator_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = create_model("resnet20")
    assert torch.equal(torch.get_rng_state(), before)
    b = create_model("resnet20")  # and still builds the same weights every time
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def _old_sweep_hash(state: dict) -> str:
    """scnas.sweep.model_hash as the old code computed it, on the state's own (old) keys."""
    h = hashlib.sha256()
    for name, t in sorted(state.items()):
        a = t.detach().cpu().contiguous().numpy()
        h.update(f"{name}:{a.dtype}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _old_teacher_hash(state: dict) -> str:
    """recast's teacher hash as the old code computed it."""
    h = hashlib.blake2b(digest_size=12)
    for k, v in state.items():
        h.update(k.encode())
        h.update(v.detach().cpu().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", SAVED)
def test_an_old_teacher_hashes_as_it_did_so_its_old_runs_resume(name):
    """Run directories and recast checkpoints hold the model's hash from before the rename."""
    old = load_tensors(DATA / f"{name}_v1.pt", "fixture")["state_dict"]
    model, _ = load_model(DATA / f"{name}_v1.pt")
    assert set(model.state_key_aliases.values()) <= set(old) and model.state_key_aliases
    assert model_hash(model) == _old_sweep_hash(old)
    assert _teacher_hash(model) == _old_teacher_hash(old)
    perturbed = {k: v + 1 if v.is_floating_point() else v for k, v in old.items()}
    model.load_state_dict(upgrade_state_dict(name, perturbed))
    assert model_hash(model) != _old_sweep_hash(old)  # the values still count
