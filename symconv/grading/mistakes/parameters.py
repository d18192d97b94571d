"""The layer's parameters misread: parametric mistakes (:mod:`symconv.grading.perturb`).

Each entry only says how a layer is misread, the common wrong values of one parameter, with
what the student did and what this layer kind needs; the candidates are computed for whatever
quantity is checked (output, dE/dx, dE/dw, dE/db, Toeplitz matrix, output size) on the
perturbed layer, resized and aligned where the shapes differ:

- ``padding``: 0, doubled, one more or one less per side, all of it on one side; a transposed
  convolution's padding applied to its input instead of cropping its output;
- ``stride``: 1 (ignored), s + 1 (s zeros between entries instead of s - 1), s - 1;
- ``dilation``: 1 (ignored), d + 1 (d holes instead of d - 1);
- ``output-padding``: a transposed convolution's output_padding dropped;
- ``ceil-mode``: a pool's output size rounded the other way;
- ``groups``: the grouping of the channels ignored or mixed up.
"""

from __future__ import annotations

from ..compute import spec_variant
from ..perturb import Perturbation, kind_name, parametric


def _short(t):
    return t[0] if len(set(t)) == 1 else t


def _pad_text(pads) -> str:
    if all(lo == hi for lo, hi in pads):
        return str(_short(tuple(lo for lo, _ in pads)))
    return str(tuple(pads))


def _variant(spec, **changes):
    return spec_variant(spec, **changes)


# ---------------------------------------------------------------------- padding
def _padding_needs(spec) -> str:
    pads = _pad_text(spec.padding)
    if spec.kind == "conv_transpose":
        return f"a transposed convolution's padding {pads} crops its full output"
    if spec.kind == "max_pool":
        return f"a max pool's padding {pads} surrounds the input with -inf"
    return f"a{'n' if spec.kind == 'avg_pool' else ''} {kind_name(spec)} pads its input by {pads}"


@parametric("padding", "the padding was ignored or different from the layer's")
def _padding(spec):
    """Padding 0, doubled, one more or one less on each side, all of it on one side; a
    transposed convolution's padding applied to its input; a max pool padded with zeros; for
    dE/dx, the gradient over the zero-padded input (not cropped)."""
    pads = spec.padding
    tot = [lo + hi for lo, hi in pads]
    news = []
    for new in (
        tuple((0, 0) for _ in pads),
        tuple((2 * lo, 2 * hi) for lo, hi in pads),
        tuple((lo + 1, hi + 1) for lo, hi in pads),
        tuple((max(lo - 1, 0), max(hi - 1, 0)) for lo, hi in pads),
        tuple((0, t) for t in tot),
        tuple((t, 0) for t in tot),
    ):
        if new != pads and new not in news:
            news.append(new)
    needs = _padding_needs(spec)
    for new in news:
        did = f"padding {_pad_text(new)} instead of {_pad_text(pads)}"
        yield Perturbation(did, needs, _variant(spec, padding=new), resize=False)
    if any(tot):
        if spec.kind == "conv_transpose":
            did = "the padding applied to the input as zeros (instead of cropping the output)"
        elif spec.kind == "max_pool":
            did = "the input padded with zeros (a max pool's padding is -inf)"
        else:
            did = "the zero padding made part of the input (so dE/dx is not cropped)"
        yield Perturbation(did, needs, pad_input=True, resize=False)


# ---------------------------------------------------------------------- stride
def _stride_did(spec, new) -> str:
    s = _short(spec.stride)
    n = _short(new)
    if spec.kind == "conv_transpose":
        if all(v == 1 for v in new):
            return "the kernel placed at i instead of i*s (stride ignored)"
        return f"the kernel placed at i*{n} instead of i*{s}"
    if all(v == 1 for v in new):
        return f"stride 1 instead of {s} (stride ignored)"
    zeros = tuple(v - 1 for v in new)
    return f"stride {n} instead of {s} ({_short(zeros)} zeros between entries of dE/dy)"


def _stride_needs(spec) -> str:
    s = _short(spec.stride)
    if spec.kind == "conv_transpose":
        return (
            f"a transposed convolution places the kernel at i*s = i*{s} (s - 1 zeros between "
            "the inputs)"
        )
    return (
        f"a{'n' if spec.kind == 'avg_pool' else ''} {kind_name(spec)} moves its window by "
        f"s = {s}, and its gradients place dE/dy[o] at o*s (s - 1 zeros between entries)"
    )


@parametric("stride", "the stride was ignored or misapplied")
def _stride(spec):
    """Stride 1 (ignored), s + 1 (s zeros inserted instead of s - 1) or s - 1; for a gradient
    also with dE/dy read as the perturbed layer's output, and every answer aligned into the
    expected shape."""
    if not any(s > 1 for s in spec.stride):
        return
    needs = _stride_needs(spec)
    seen = set()
    for new in (
        tuple(1 for _ in spec.stride),
        tuple(s + 1 if s > 1 else 1 for s in spec.stride),
        tuple(s - 1 if s > 2 else (1 if s == 2 else s) for s in spec.stride),
    ):
        if new == spec.stride or new in seen:
            continue
        seen.add(new)
        v = _variant(spec, stride=new)
        yield Perturbation(_stride_did(spec, new), needs, v)


# ---------------------------------------------------------------------- dilation
@parametric("dilation", "the dilation was ignored or misapplied")
def _dilation(spec):
    """Dilation 1 (ignored) or d + 1 (d holes between the taps instead of d - 1)."""
    if not any(d > 1 for d in spec.dilation):
        return
    d = _short(spec.dilation)
    needs = (
        f"a dilated {kind_name(spec)} spaces its taps d = {d} apart (d - 1 holes between " "them)"
    )
    one = tuple(1 for _ in spec.dilation)
    yield Perturbation(
        f"dilation 1 instead of {d} (dilation ignored)", needs, _variant(spec, dilation=one)
    )
    more = tuple(v + 1 if v > 1 else 1 for v in spec.dilation)
    did = f"dilation {_short(more)} instead of {d} (d holes between the taps instead of d - 1)"
    yield Perturbation(did, needs, _variant(spec, dilation=more))


# ---------------------------------------------------------------------- output padding
@parametric("output-padding", "a transposed convolution's output_padding was dropped")
def _output_padding(spec):
    """A transposed convolution without its output_padding (the extra rows/columns at the
    high end)."""
    if spec.kind != "conv_transpose" or not any(spec.output_padding):
        return
    op = _short(spec.output_padding)
    needs = f"a transposed convolution with output_padding {op} adds {op} rows/columns at the end"
    zero = tuple(0 for _ in spec.output_padding)
    yield Perturbation("output_padding dropped", needs, _variant(spec, output_padding=zero))


# ---------------------------------------------------------------------- ceil mode
@parametric("ceil-mode", "a pool's output size rounded the wrong way (ceil_mode)")
def _ceil_mode(spec):
    """The pool with ceil_mode toggled (the last, partial window kept or dropped)."""
    if not spec.is_pool:
        return
    v = _variant(spec, ceil_mode=not spec.ceil_mode)
    if v is None or v.output_size == spec.output_size:
        return
    if spec.ceil_mode:
        did = "floor instead of ceil (the last, partial window dropped)"
        needs = f"with ceil_mode this {kind_name(spec)} keeps a last, partial window"
    else:
        did = "ceil instead of floor (a last, partial window kept)"
        needs = f"without ceil_mode this {kind_name(spec)} drops a window that does not fit"
    yield Perturbation(did, needs, v)


# ---------------------------------------------------------------------- groups
def _group_pairs(spec, group_of, local_to_global):
    """Channel connections with the group of each filter ``group_of(filter)`` and the channel
    it reads ``local_to_global(group, local)``."""
    g = spec.groups
    cin_g, cout_g = spec.in_channels // g, spec.out_channels // g
    pairs = []
    if spec.kind == "conv":
        for co in range(spec.out_channels):
            grp = group_of(co, cout_g)
            for cl in range(cin_g):
                pairs.append((co, local_to_global(grp, cl, cin_g), (co, cl)))
    else:
        for ci in range(spec.in_channels):
            grp = group_of(ci, cin_g)
            for cl in range(cout_g):
                pairs.append((local_to_global(grp, cl, cout_g), ci, (ci, cl)))
    return tuple(pairs)


@parametric("groups", "the channel groups were ignored or mixed up")
def _groups(spec):
    """A grouped convolution read as if every filter saw the first channels (groups
    ignored), or with the filters assigned to the groups round-robin instead of in blocks."""
    if not spec.has_weight or spec.groups == 1:
        return
    g = spec.groups
    needs = (
        f"with groups={g}, filter block k of the {kind_name(spec)} reads only the k-th block "
        "of channels"
    )
    blocked = _group_pairs(spec, lambda f, n: f // n, lambda grp, cl, n: grp * n + cl)
    ignored = _group_pairs(spec, lambda f, n: f // n, lambda grp, cl, n: cl)
    mixed = _group_pairs(spec, lambda f, n: f % g, lambda grp, cl, n: grp * n + cl)
    if ignored != blocked:
        yield Perturbation(
            "every filter reading the first channels (groups ignored)", needs, pairs=ignored
        )
    if mixed != blocked and mixed != ignored:
        yield Perturbation("the filters assigned to the groups round-robin", needs, pairs=mixed)
