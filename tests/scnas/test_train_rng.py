"""Training seeds its own draws and leaves the caller's torch generator as it was."""

from __future__ import annotations

import torch

from scnas.data import load_dataset
from scnas.train import TrainConfig, train


def test_train_leaves_the_callers_generator_alone(tmp_path):
    ds = load_dataset("digits")
    before = torch.get_rng_state()
    train(ds, TrainConfig(model="lenet5", dataset="digits", epochs=1), tmp_path / "run")
    assert torch.equal(torch.get_rng_state(), before)
