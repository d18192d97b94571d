"""Numbers through a whole network, and the checks of its generated backward pass.

:func:`reference_forward` and :func:`reference_gradients` chain the slow plain-loop references
(:mod:`symconv.core.reference` for conv/pool, :mod:`symconv.nn.layers` otherwise) over one
sample. :func:`gradcheck` holds the generated module's gradients against central finite
differences (seed 004), against those references, and against PyTorch's autograd when it is
installed.
"""

from __future__ import annotations

import numpy as np

from ..core import reference as core_reference
from ..core.errors import SpecError
from . import layers as nn
from .netlayer import CONV_KINDS

__all__ = ["gradcheck", "reference_forward", "reference_gradients"]


def reference_forward(net, params, x) -> list:
    """Plain-loop forward pass of one sample (no batch axis): the outputs of every layer,
    ``[x, a1, ..., an]``."""
    acts = [np.asarray(x, dtype=np.float64)]
    for lay in net.layers:
        a = acts[-1]
        w, b = params.get(f"{lay.name}.w"), params.get(f"{lay.name}.b")
        if lay.kind in CONV_KINDS:
            acts.append(np.asarray(core_reference.forward(lay.spec, a, w, b), dtype=np.float64))
        else:
            acts.append(nn.reference_forward(lay.spec, a, w, b))
    return acts


def reference_gradients(net, params, x, target):
    """``(loss, grads, dx)`` of one sample by the plain-loop references, chained. The loss
    gradient is the exact one (no fusion), so it also checks the fused shortcut."""
    if net.loss is None:
        raise SpecError(f"network {net.name!r}: gradients need a loss, got none")
    acts = reference_forward(net, params, x)
    loss, g = nn.reference_loss(net.loss.spec, acts[-1], target)
    grads = {}
    for lay, a in zip(reversed(net.layers), reversed(acts[:-1])):
        w = params.get(f"{lay.name}.w")
        if lay.kind in CONV_KINDS:
            dx, dw, db = core_reference.backward(lay.spec, g, a, w)
        else:
            dx, dw, db = nn.reference_backward(lay.spec, g, a, w)
        if dw is not None:
            grads[f"{lay.name}.w"] = np.asarray(dw, dtype=np.float64)
        if db is not None:
            grads[f"{lay.name}.b"] = np.asarray(db, dtype=np.float64)
        g = np.asarray(dx, dtype=np.float64)
    return loss, grads, g


def _random_target(net, rng, batch):
    """A batch of targets: normal numbers for the L2 loss, one-hot labels otherwise."""
    k = net.output_shape
    if net.loss.kind == "l2":
        return rng.standard_normal((batch,) + tuple(k))
    labels = rng.integers(0, k[0], size=batch)
    return np.eye(k[0])[labels]


def _rel_err(a, b) -> float:
    """Largest absolute difference over the larger of the two arrays' largest magnitudes."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0) / scale)


def _reference_errors(net, params, x, target, grads, dx) -> dict:
    """Relative errors of the generated gradients against the plain-loop references, sample
    by sample for the input and averaged over the batch (as the generated loss) for the
    parameters."""
    batch = x.shape[0]
    errors, sums = {"input": 0.0}, {}
    for n in range(batch):
        _, ref_grads, ref_dx = reference_gradients(net, params, x[n], target[n])
        errors["input"] = max(errors["input"], _rel_err(ref_dx / batch, dx[n]))
        for key, g in ref_grads.items():
            sums[key] = sums.get(key, 0.0) + g / batch
    for key, total in sums.items():
        errors[key] = _rel_err(total, grads[key])
    return errors


def gradcheck(
    net,
    *,
    batch=2,
    seed=0,
    eps=1e-6,
    use_reference=True,
    use_torch=True,
    fd_entries=None,
    fd_tol=1e-5,
    tol=1e-9,
) -> dict:
    """See :meth:`Network.gradcheck`. Finite differences are held to ``fd_tol`` (their own
    truncation and rounding error), exact comparisons to ``tol``; ``fd_entries`` limits the
    finite differences to that many randomly chosen entries per array (None: all)."""
    if net.loss is None:
        raise SpecError(f"network {net.name!r}: gradcheck needs a loss, got none")
    mod = net.module()
    rng = np.random.default_rng(seed)
    params = mod.init_params(seed)
    x = rng.standard_normal((batch,) + net.input_shape)
    target = _random_target(net, rng, batch)
    loss, grads, dx = mod.loss_and_gradients(params, x, target)
    report = {"network": net.name, "loss": float(loss), "batch": batch, "checks": {}}

    def fd_err(arr, grad):
        flat = arr.reshape(-1)
        picked = np.arange(flat.size)
        if fd_entries is not None and flat.size > fd_entries:
            picked = np.sort(rng.choice(flat.size, fd_entries, replace=False))
        num = np.empty(picked.size)
        for j, i in enumerate(picked):
            old = flat[i]
            flat[i] = old + eps
            lp = mod.loss_and_gradients(params, x, target, need_grad=False)[0]
            flat[i] = old - eps
            lm = mod.loss_and_gradients(params, x, target, need_grad=False)[0]
            flat[i] = old
            num[j] = (lp - lm) / (2 * eps)
        return _rel_err(num, grad.reshape(-1)[picked])

    fd = {key: fd_err(params[key], grads[key]) for key in grads}
    fd["input"] = fd_err(x, dx)
    report["checks"]["finite_differences"] = fd
    if use_reference:
        report["checks"]["reference"] = _reference_errors(net, params, x, target, grads, dx)
    if use_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            report["checks"]["torch"] = "skipped: PyTorch is not installed"
        else:
            report["checks"]["torch"] = _torch_check(net, params, x, target, loss, grads, dx)
    ok, worst = True, 0.0
    for name, check in report["checks"].items():
        if isinstance(check, dict):
            errs = [v for v in check.values() if isinstance(v, float)]
            worst = max([worst] + errs)
            ok = ok and all(e < (fd_tol if name == "finite_differences" else tol) for e in errs)
    report["max_rel_error"] = worst
    report["ok"] = ok
    return report


class _NotInTorch(Exception):
    """A layer that PyTorch's functional ops do not express (the check is skipped)."""


def _torch_check(net, params, x, target, loss, grads, dx) -> dict:
    """The same network in PyTorch (float64, autograd): relative errors of loss and grads."""
    import torch

    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    a = tx
    for lay in net.layers:
        w, b = tp.get(f"{lay.name}.w"), tp.get(f"{lay.name}.b")
        try:
            a = _torch_layer(lay, a, w, b)
        except _NotInTorch as exc:
            return {"skipped": str(exc)}
    tt = torch.tensor(target, dtype=torch.float64)
    n = x.shape[0]
    if net.loss.kind == "cross_entropy":
        tl = -(tt * torch.log(a)).sum() / n
    elif net.loss.kind == "softmax_cross_entropy":
        tl = -(tt * torch.log_softmax(a, dim=1)).sum() / n
    else:
        tl = 0.5 * ((a - tt) ** 2).sum() / n
    tl.backward()
    out = {"loss": _rel_err(tl.item(), loss), "input": _rel_err(tx.grad.numpy(), dx)}
    for k, v in tp.items():
        out[k] = _rel_err(v.grad.numpy(), grads[k])
    return out


def _torch_layer(lay, a, w, b):
    """One layer applied by PyTorch to the batch ``a``."""
    import torch

    if lay.kind in CONV_KINDS:
        return _torch_conv_pool(lay, a, w, b)
    if lay.kind == "sigmoid":
        return torch.sigmoid(a)
    if lay.kind == "tanh":
        return torch.tanh(a)
    if lay.kind == "relu":
        return torch.relu(a)
    if lay.kind == "flatten":
        return a.reshape(a.shape[0], -1)
    if lay.kind == "softmax":
        return torch.softmax(a, dim=1)
    return torch.nn.functional.linear(a.reshape(a.shape[0], -1), w, b)  # dense


def _torch_conv_pool(lay, a, w, b):
    """A conv, transposed conv or pool layer by ``torch.nn.functional`` (conv pads by hand,
    as symconv allows per-side padding; the others need symmetric padding)."""
    import torch
    import torch.nn.functional as F

    spec, kind = lay.spec, lay.kind
    nd = spec.ndim
    symmetric = all(lo == hi for lo, hi in spec.padding)
    pad = tuple(lo for lo, _ in spec.padding)
    if kind == "conv":
        pads = [p for lo_hi in reversed(spec.padding) for p in lo_hi]
        a = F.pad(a, pads, value=0.0)
        ww = torch.flip(w, dims=tuple(range(2, 2 + nd))) if spec.flip else w
        conv = [F.conv1d, F.conv2d, F.conv3d][nd - 1]
        return conv(a, ww, b, stride=spec.stride, dilation=spec.dilation, groups=spec.groups)
    if kind == "conv_transpose":
        if not symmetric:
            raise _NotInTorch("asymmetric transposed padding")
        convt = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][nd - 1]
        return convt(
            a,
            w,
            b,
            stride=spec.stride,
            padding=pad,
            output_padding=spec.output_padding,
            groups=spec.groups,
            dilation=spec.dilation,
        )
    if kind == "max_pool":
        if spec.ties != "first" or not symmetric:
            raise _NotInTorch("max pool with split ties or asymmetric padding")
        pool = [F.max_pool1d, F.max_pool2d, F.max_pool3d][nd - 1]
        return pool(a, spec.kernel_size, spec.stride, pad, spec.dilation, ceil_mode=spec.ceil_mode)
    if not symmetric:
        raise _NotInTorch("avg pool with asymmetric padding")
    pool = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][nd - 1]
    return pool(
        a,
        spec.kernel_size,
        spec.stride,
        pad,
        ceil_mode=spec.ceil_mode,
        count_include_pad=spec.count_include_pad,
    )
