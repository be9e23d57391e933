"""Binary-domain ops of the layer graph (between counters and the next conversion).

Each op works on real-valued torch float64 tensors (B, ...). The expected-mode twins
carry (mean, var) pairs; ReLU uses the rectified-Gaussian moments, pooling keeps the
variance of the selected element, averages divide it by the window size (independent
errors assumed).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from sc_accel.graph import Layer

__all__ = ["binary_op", "moment_op"]

Moments = tuple[torch.Tensor, torch.Tensor]


def _chan(v: torch.Tensor, ndim: int) -> torch.Tensor:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def binary_op(layer: Layer, xs: list[torch.Tensor]) -> torch.Tensor:
    """Value of a non-MAC layer on binary inputs."""
    a = layer.attrs
    x = xs[0]
    if layer.op == "relu":
        return x.clamp_min(0.0)
    if layer.op == "maxpool":
        return F.max_pool2d(x, a["kernel"], a["stride"], a["padding"])
    if layer.op == "avgpool":
        return F.avg_pool2d(x, a["kernel"], a["stride"], a["padding"])
    if layer.op == "gap":
        return x.mean(dim=(2, 3), keepdim=True)
    if layer.op == "flatten":
        return x.reshape(x.shape[0], -1)
    if layer.op == "add":
        return xs[0] + xs[1]
    if layer.op == "cat":
        return torch.cat(xs, dim=1)
    if layer.op == "affine":
        return x * _chan(torch.as_tensor(a["scale"]), x.ndim) + _chan(torch.as_tensor(a["shift"]), x.ndim)
    if layer.op == "identity":
        return x
    raise ValueError(f"binary_op got MAC layer {layer.op}")  # internal: converter routes MACs elsewhere


def _relu_moments(m: torch.Tensor, v: torch.Tensor) -> Moments:
    sd = v.clamp_min(1e-30).sqrt()
    z = m / sd
    cdf = 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    mean = m * cdf + sd * pdf
    second = (m * m + v) * cdf + m * sd * pdf
    return mean, (second - mean * mean).clamp_min(0.0)


def _max_moments(m: torch.Tensor, v: torch.Tensor, a: dict) -> Moments:
    mean, idx = F.max_pool2d(m, a["kernel"], a["stride"], a["padding"], return_indices=True)
    flat = v.flatten(2)
    return mean, flat.gather(2, idx.flatten(2)).reshape(mean.shape)


def moment_op(layer: Layer, xs: list[Moments]) -> Moments:
    """(mean, var) of a non-MAC layer's output given its inputs' moments."""
    a = layer.attrs
    m, v = xs[0]
    if layer.op == "relu":
        return _relu_moments(m, v)
    if layer.op == "maxpool":
        return _max_moments(m, v, a)
    if layer.op == "avgpool":
        n = a["kernel"][0] * a["kernel"][1]
        return F.avg_pool2d(m, a["kernel"], a["stride"], a["padding"]), \
            F.avg_pool2d(v, a["kernel"], a["stride"], a["padding"]) / n
    if layer.op == "gap":
        n = m.shape[2] * m.shape[3]
        return m.mean(dim=(2, 3), keepdim=True), v.mean(dim=(2, 3), keepdim=True) / n
    if layer.op == "add":
        return xs[0][0] + xs[1][0], xs[0][1] + xs[1][1]
    if layer.op == "cat":
        return torch.cat([x[0] for x in xs], dim=1), torch.cat([x[1] for x in xs], dim=1)
    if layer.op == "affine":
        s = _chan(torch.as_tensor(a["scale"]), m.ndim)
        return m * s + _chan(torch.as_tensor(a["shift"]), m.ndim), v * s * s
    return binary_op(layer, [m]), binary_op(layer, [v])
