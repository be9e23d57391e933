"""Fixtures shared by the CLI tests: one small trained teacher for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from scnas.cli import main


@pytest.fixture(scope="session")
def teacher(tmp_path_factory) -> Path:
    """A LeNet-5 run directory trained for one epoch on digits (read-only for the tests)."""
    run = tmp_path_factory.mktemp("teacher") / "t"
    assert main(["train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--out", str(run)]) == 0
    return run
