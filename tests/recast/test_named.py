"""Recasting a model without stem/blocks/head by naming its block modules (fx cut)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from recast import RecastConfig, create_block, recast
from recast.named import recastable, split_named
from recast.plan import plan_modules
from sc_accel.errors import InvalidInputError
from sc_accel.hw import workload


class TorchvisionLike(nn.Module):
    """The layout of torchvision's ResNet: no stem/blocks/head attributes, functional flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu = nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        self.layer1 = nn.Sequential(create_block("basic", 8, 8, 1), create_block("basic", 8, 8, 1))
        self.layer2 = nn.Sequential(create_block("basic", 8, 16, 2))
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class Between(TorchvisionLike):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.layer1[1](self.layer1[0](x)) * 0.5)  # something between two named blocks
        return self.fc(torch.flatten(self.pool(self.layer2(x)), 1))


class Skip(TorchvisionLike):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(s) + s  # the stem's value read after the first block
        return self.fc(torch.flatten(self.pool(self.layer2(x)), 1))


class Around(TorchvisionLike):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        a = self.layer1[0](x)
        x = self.layer1[1](a) + a  # a shortcut around the second named block
        return self.fc(torch.flatten(self.pool(self.layer2(x)), 1))


NAMES = ["layer1.0", "layer1.1", "layer2.0"]


def _model(cls=TorchvisionLike) -> nn.Module:
    torch.manual_seed(0)
    m = cls().eval()
    with torch.no_grad():  # non-trivial BN statistics, so a wrong cut would show in the output
        for bn in m.modules():
            if isinstance(bn, nn.BatchNorm2d):
                bn.running_mean.uniform_(-0.2, 0.2)
                bn.running_var.uniform_(0.5, 1.5)
    return m


def test_cut_model_computes_what_the_model_computes():
    m = _model()
    cut = recastable(m, NAMES)
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(cut(x), m(x))
    stem, blocks, head = split_named(m, NAMES)
    assert [b is m.get_submodule(n) for b, n in zip(blocks, NAMES)] == [True] * 3
    assert stem(x).shape == (3, 8, 8, 8) and head(torch.randn(3, 16, 4, 4)).shape == (3, 10)
    assert recastable(m, None) is m


def test_recast_by_named_modules_gives_a_working_student():
    m = _model()
    rng = np.random.default_rng(0)
    x, y = rng.random((24, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 24)
    plan = {"type": "dwsep", "modules": NAMES}
    res = recast(m, plan, (x, y), RecastConfig(epochs_per_block=1, finetune_epochs=1, batch_size=12),
                 progress=False)
    assert res.modules == NAMES and [s["type"] for s in res.spec] == ["dwsep"] * 3
    assert res.student(torch.as_tensor(x[:2])).shape == (2, 10)
    layers = workload(res.student, (1, 1, 8, 8))
    assert [l.op for l in layers].count("dwconv") == 3  # the estimator sees each student block's depthwise conv
    assert layers[0].name.startswith("stem") and layers[0].C == 1  # the teacher's own stem, cut out of its graph


@pytest.mark.parametrize("cls, names, words", [
    (TorchvisionLike, ["layer1.0", "layer9"], "does not have"),
    (TorchvisionLike, ["layer1.1", "layer1.0"], "another order"),
    (TorchvisionLike, ["layer1.0", "layer1.0"], "twice"),
    (TorchvisionLike, ["layer1.0.body", "layer1.1"], "cut the model in two"),
    (TorchvisionLike, [""], "does not have"),
    (Around, NAMES, "shortcut"),
    (Between, NAMES, "between blocks"),
    (Skip, NAMES, "cut the model in two"),
])
def test_bad_block_names_are_refused_by_name(cls, names, words):
    with pytest.raises(InvalidInputError, match=words):
        split_named(_model(cls), names)


def test_plan_file_names_modules_and_checks_them(tmp_path):
    p = tmp_path / "plan.toml"
    p.write_text('type = "plain"\nmodules = ["layer1.0", "layer1.1", "layer2.0"]\n')
    assert plan_modules(p) == NAMES and plan_modules("plain") is None
    p.write_text('type = "plain"\nmodules = []\n')
    with pytest.raises(InvalidInputError, match="non-empty list"):
        plan_modules(p)
    with pytest.raises(InvalidInputError, match="name its block modules"):
        recast(_model(), "plain", (np.zeros((2, 1, 8, 8), np.float32), np.zeros(2, int)), progress=False)
