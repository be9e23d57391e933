"""Top-1 accuracy of a float model: the one count nas, recast scoring and the commands share."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["top1_accuracy"]


def top1_accuracy(model: torch.nn.Module, x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray,
                  batch: int = 1000) -> float:
    """The fraction of images x (N, C, H, W) whose largest logit is their label y (N,), the
    model in eval mode, `batch` images at a time, images as float32; 0.0 for no images."""
    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            pred = model(torch.as_tensor(x[i:i + batch]).float()).argmax(1)  # (B,)
            hits += int((pred == torch.as_tensor(y[i:i + batch])).sum())
    return hits / max(len(x), 1)
