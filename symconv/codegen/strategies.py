"""Strategy choice: which kernels a generated module runs, decided once per spec.

* ``direct GEMM``: one tap reading the whole input (1x1, stride 1, no padding): the weights
  multiply ``x`` itself;
* ``im2col GEMM`` / ``polyphase im2col GEMM``: each phase's window is copied once into a column
  buffer and contracted with the weights in one batched GEMM (``np.matmul``, BLAS), the bias
  folded in as a row of ones. ``dE/dw`` is one more GEMM over the same columns; ``dE/dx``
  either gathers ``dE/dy`` through the inverse map (polyphase for strides > 1) into one GEMM
  per phase, or (when cheaper, e.g. few input channels) multiplies ``W'^T dE/dy`` in one GEMM
  and scatters it back (col2im). A lean module of one gathered phase that scatters folds the
  batch into its GEMMs: the columns are laid out (group, row, sample, position), so each GEMM
  runs once over the whole batch instead of once per sample (a small layer's per-sample GEMMs
  are too small for BLAS: on the machine below, the 32x3x32x32 5x5 layer's dE/dx GEMM took
  2.2 ms folded against 4.4 ms per sample in float64, 0.8 against 2.5 ms in float32). Such a
  module keeps its batch-sized buffers between calls (a workspace, as threaded modules do):
  allocated afresh, glibc hands them back to the system after each call and every call pages
  them in again, which took half of that layer's forward + backward (float32, fresh process:
  about 18 ms with fresh buffers, 11 ms with kept ones). Its backward reuses the forward's
  columns when x is unchanged (a copy of x, 1/T of the columns, is kept and compared), so
  that x is gathered once per forward + backward. When its forward reads one stride-1 window,
  dE/dx is scattered from the GEMM's output laid out "wide" (dE/dy on rows of the padded
  input's length, the extra columns zero): each tap's add is one contiguous run per channel
  and sample instead of one short row per output row (the 32x3x32x32 5x5 layer's 25 adds ran
  over 67,200 rows of 28 values, about a third of its forward + backward in float32);
* ``implicit GEMM`` (tap accumulation, stride-1 dense convolutions): no column buffer. x is
  copied once into a zero-bordered "wide" flat layout (row length of the padded input), where
  every tap reads one contiguous run at a constant offset; the output, computed on the wide
  grid, is the sum over the taps of one GEMM ``W'_t @ run_t`` each (over blocks of samples
  whose partial sums stay in cache) with the extra columns cropped. ``dE/dx`` runs the taps
  of the inverse map over ``dE/dy`` laid out the same way; ``dE/dw`` is one GEMM per tap,
  ``dE/dy`` against the tap's run of x (positions as the inner dimension);
* ``Winograd`` (F(2x2, 3x3), 2-D stride-1 3x3 convolutions, dilation 1, one group, any
  padding): 4x4 tiles of the zero-bordered input at stride 2 become B^T d B, each kernel
  G g G^T, and the 16 entries of a tile are contracted over the channels in one batched GEMM
  of (16, out, in) by (16, in, tiles): 16 multiplications per 2x2 outputs and channel pair
  instead of 36. A^T M A gives the 2x2 output tiles (a ragged last tile cropped). The copy
  splits rows and columns by parity, so every transform pass is one ufunc over whole
  contiguous rows; the work runs in blocks (whole samples, or bands of tile rows of one
  sample) whose tile buffers take about :data:`WINOGRAD_BLOCK_BYTES`. ``dE/dx`` runs the same
  helper on ``dE/dy`` zero-bordered by ``2 - padding`` (negative: cropped) with the rotated
  kernel, channels swapped; ``dE/dw`` is one GEMM per tap over contiguous runs of a
  zero-bordered flat copy of x (as many multiplications as im2col's ``dE/dw``; a Winograd
  ``dE/dw`` would multiply 2.25x less but transform x and ``dE/dy`` again, which by the
  forward's breakdown below costs about what it saves here: not built). The transforms are
  rational (halves), so Fraction arrays stay exact;
* ``depthwise taps`` (stride-1 depthwise): no channel contraction is left for a GEMM, so the
  taps are unrolled into multiply-adds over the same wide layout;
* ``pool taps``: window maxima / sums taken axis by axis, the last axis first, on blocks of
  whole (sample, channel) planes. A max pool with 'first' ties routes dy back through the
  stages, the first axis first (the first maximum in row-major tap order, exactly); a size-2
  stride-2 axis takes one comparison and one subtraction. 'split' ties and average pools route
  dy through one strided view per window tap.

Which of im2col and the implicit GEMM: the implicit GEMM is generated on request only
(``generate_numpy(layer, implicit=True)``), im2col by default. Measured with ``python
examples/benchmark_kernels.py --implicit`` on this project's machine (lscpu: "AMD EPYC",
family 25 model 1 (Zen 3), AVX2 without AVX-512, 2 vCPUs under KVM, shared with other jobs;
NumPy 2.4 with OpenBLAS, 2 threads; sgemm 140-170 GFLOP/s), forward + backward of threaded 3x3
and 5x5 stride-1 layers, 16-256 channels, 14x14 to 112x112, float32 and float64, implicit time
/ im2col time: its forward alone is usually faster (0.67-0.95: no column buffer to write), but
its per-tap GEMMs contract only the channels of one tap (K = C instead of 9C), which OpenBLAS
runs at about 70% of the rate of the one large im2col GEMM, and its dE/dw (one GEMM per tap)
cannot reuse the forward's columns as a threaded im2col module does. Forward + backward came
out 0.9-1.1 (a tie within the machine's noise) for 32 <= out <= in <= 64 channels at up to
56x56, 1.1-1.5 with more channels (128, 256), more output than input channels, or partial sums
of one sample beyond about 1 MiB (112x112), and it never won beyond the noise. It is also
fragile on a shared machine: it makes n x taps BLAS calls per pass where im2col makes one, each
synchronising OpenBLAS's threads, and while other processes held the CPUs it slowed down 2-5x
more than im2col did (e.g. 16x64x56x56 float64 forward + backward 1.7 s against 0.73 s). So
nothing picks it by default here. On a machine whose GEMMs are fast against its memory traffic
(issue 16's AVX-512 Xeon: the implicit forward of that layer 31 ms against 45 ms for im2col)
it may win; re-measure there with ``--implicit`` before making it a default.

Which of im2col and Winograd: Winograd is generated on request only (``generate_numpy(layer,
winograd=True)``, ``symconv codegen --winograd``, manifest key ``winograd = true``), im2col by
default, for both dtypes. Measured with ``python examples/benchmark_kernels.py --winograd``
(two runs of the kernels as committed, in one session; lscpu: "AMD EPYC", family 25 model 17
(Zen 4), avx2 and avx512f, 2 vCPUs under KVM, shared with other jobs; NumPy 2.4.6 with OpenBLAS
0.3.31, 2 threads): forward and backward of 3x3 padding-1 layers, 8-256 channels, 8x8-56x56,
batch 8-16, float32 and float64, Winograd time / default module time. Its batched GEMM alone is
about half of im2col's forward GEMM (16x64x56x56 float32: 12 ms against 36 ms; 8x128x28x28: 6
against 12 ms), but in NumPy the transforms are a dozen memory passes over buffers 4x the
input's size: for 16x64x56x56 float32 the forward took 31-37 ms, of which 18 ms the GEMMs (in
blocks), 11 the copy and the input transform, 8 the output transform and its scattered writes.
The default module also runs its copies on two worker threads; running Winograd's blocks on two
threads did not help (its GEMMs then contend for OpenBLAS's threads), and splitting each
block's transforms by channels over two threads, the GEMMs on the calling thread, did not help
consistently (forward 16x64x56x56 float32 36 ms against 32 serial, 8x128x28 15 against 15,
8x256x14 9.4 against 12): not built. Forward + backward, first / second run: 16x64x56x56 1.06 /
1.06 float32, 1.06 / 1.08 float64; 16x32x56 1.02 / 1.01, 1.12 / 1.12; 8x128x28 1.05 / 1.56,
1.13 / 1.74; 8x256x14 1.02 / 1.10, 1.08 / 1.18; 16x64x28 1.13 / 1.97, 1.04 / 1.26; 16x16x56
1.28 / 1.26, 1.07 / 1.16; the forward alone 0.88-1.13 on the large layers in the first run, the
backward 0.99-1.15 (its dE/dw GEMMs cost what im2col's do). The only rows below 0.95 (16x8x56
float64 0.79 / 0.80, 16x16x28 0.84 and 16x32x14 0.82 in one run, 1.19 and 1.11 in the other)
are small layers where both take a few ms and the runs disagree. So Winograd never paid by a
clear margin here, for either dtype. A machine whose GEMMs are slow against its memory (issue
27's figures: OpenBLAS at half its square-matrix rate on im2col's shapes) may see otherwise;
re-measure there with ``--winograd`` before making it a default.

Tried and not adopted (same machine, Zen 4 with avx512f, both modules in one process with
calls interleaved, the minimum of 15): folding the batch into the GEMMs of *threaded* modules
too (x's and dE/dy's columns laid out (row, sample, position), dE/dy reordered once, one GEMM
per pass as the lean folded modules run them). Alone, those GEMMs were 5-30% faster in float32
on the benchmark's 3x3 layers, but the reorders of y, dE/dx and dE/dy that the layout needs ate
it: forward + backward 1.10 (stride 2), 1.08 (16x64x56x56 p1), 1.02 (8x128x28x28) of the
per-sample module's time in float32, 0.99-1.01 in float64. Running the polyphase dE/dx stores
on the worker threads right after the GEMMs was no better either (BLAS's threads still spin
there). dE/dw is computed as ``cols dy^T`` (its transpose): OpenBLAS ran that orientation
10-16% faster per sample in float32 and twice as fast on a lean folded module's one long GEMM
(32x3x32x32 5x5: 0.84 against 1.75 ms float32, 1.5 against 3.9 ms float64).

Also tried and not adopted (same machine and method, float32, forward + backward): streaming
a threaded module's columns through a small buffer, the gather of one to eight samples (split
by channels over the two threads) followed at once by its GEMM, so that the columns are read
back from cache; the backward then gathers x again per block instead of keeping the forward's
columns and comparing x. 16x64x56x56 p1: forward 0.86 of the batch-wide module's time,
backward 1.00, both 0.97-0.98 with blocks of one or two samples (1.09 with four); 32x64x56x56
stride 2: forward 0.91, backward 1.08, both 1.05-1.09. Streaming into the kept batch-wide
buffer instead (keeping the reuse) lost the forward's gain (1.02-1.29): it came from writing a
buffer that stays in cache. A lean folded module run in blocks of 2-8 samples (the 32x3x32x32
5x5 layer: each block gathered, multiplied and scattered while in cache) took 1.16-1.70 times
as long: BLAS runs the short GEMMs worse and the Python calls multiply. Gains within 3% on one
row and losses on another did not pay for a second layout of the threaded template. Splitting
that lean module's gather and its 25 col2im adds over two threads (batch 32; the adds alone
0.45-0.49 against 0.76 ms float32, 0.83 against 1.54-1.56 ms float64): forward + backward
0.92-0.96 float32 and 0.90-1.05 float64 in four runs, a gain within the spread of the runs, not
enough to give lean modules the thread machinery.

Independently of the kernels, a module is *threaded* only when its layer is large enough for
that machinery to pay (:func:`uses_threads`): a pool of worker threads for the copies and the
elementwise work, scratch buffers kept between calls in a workspace (and, for im2col, the
forward's columns reused by the backward), and work cut into blocks of groups or channels that
stay in cache. Smaller layers get a lean module that runs serially and imports only NumPy; an implicit
GEMM module is always threaded, a Winograd module never (its GEMMs use BLAS's threads).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.errors import CodegenError
from ..core.layers import Layer
from .plans import GatherPlan, check_against_index_map, forward_plan, inverse_plan

__all__ = [
    "Strategy",
    "choose",
    "strategy",
    "uses_threads",
    "implicit_applies",
    "winograd_applies",
    "winograd_missing",
    "weight_flip",
    "reads_per_sample",
]

#: Grouped convolutions gather and multiply blocks of groups whose column buffers take about
#: this many bytes (a depthwise layer's tiny GEMMs then read columns from cache).
GROUP_BLOCK_BYTES = 1 << 22

#: Depthwise layers work on blocks of channels whose wide rows take about this many bytes
#: (2 MiB measured 5-10% faster than 4 MiB on the benchmark's depthwise shape, both dtypes).
DEPTHWISE_BLOCK_BYTES = 1 << 21

#: Implicit GEMM modules accumulate the taps over blocks of samples whose partial sums take
#: about this many bytes (they stay in cache while every tap is added).
IMPLICIT_BLOCK_BYTES = 1 << 20

#: Winograd modules work on blocks (whole samples, or bands of tile rows of one sample) whose
#: tile buffers (16 transformed values per 2x2 output tile and channel, of the larger channel
#: count) take about this many bytes; dE/dw's flat copies are blocked over samples alike. On the
#: machine of the Winograd figures below (L2 2 MiB per core), 1, 2 and 4 MiB were within 10%
#: of each other for 64-256 channels, while 4 MiB took 3x as long as 1-2 MiB for 16x16x56x56
#: float32 (its blocks then span several samples) and 32 MiB up to 2x for every layer.
WINOGRAD_BLOCK_BYTES = 1 << 21

#: Pools work on blocks of (sample, channel) planes of about this many bytes of x (all taps of
#: a block are applied while it is in cache).
POOL_BLOCK_BYTES = 1 << 21

#: A module gets worker threads, a workspace and blocking when one sample of its layer makes
#: at least this many tap reads (:func:`reads_per_sample`). Measured with
#: ``python examples/benchmark_kernels.py --threads`` on this project's machine (lscpu: "AMD
#: EPYC", family 25 model 1 (Zen 3), 2 vCPUs under KVM, shared; NumPy 2.4, OpenBLAS with 2
#: threads): forward + backward, batch of 8, float32 and float64, lean module against the
#: threaded one with 2 threads, on 3x3 convolutions (stride 1 and 2), depthwise 3x3, max 2x2
#: and average 3x3 pools, 4 to 64 channels, 8x8 to 64x64. Up to 2**14 reads the lean module
#: is as fast or faster (lean/threaded time 0.8-1.0: the split steps stay on the calling
#: thread and the machinery costs); from about 2**17 the threaded module is faster in most
#: rows (median 1.3x, up to 2.8x in float64, where the backward also reuses the forward's
#: columns); 2**15-2**16 is mixed. The machine was loaded by other jobs, so single rows are
#: noisy; the line is drawn in between.
THREAD_MIN_READS = 1 << 16


@dataclass(frozen=True)
class Strategy:
    """What the generated module does, decided once per spec: its name (the module's
    STRATEGY), the docstring's one-line summary, the template and the plans it reads."""

    name: str
    summary: str
    template: str = ""
    threads: bool = False
    plan: GatherPlan = field(default=None, repr=False, compare=False)
    inverse: GatherPlan = field(default=None, repr=False, compare=False)
    #: conv: dE/dx as W'^T dE/dy scattered back through the forward map (col2im)
    dx_scatter: bool = False
    #: conv: the bias folded into the forward GEMM as a row of ones
    fold_bias: bool = False
    #: conv: backward reuses the columns of x the forward kept, when x is unchanged (threaded
    #: modules, and lean modules that fold the batch)
    reuse_columns: bool = False
    #: conv: the batch folded into the GEMMs' long dimension, one GEMM per group for the whole
    #: batch instead of one per sample (lean modules of one non-identity phase that scatter
    #: dE/dx); their batch-sized buffers are kept between calls in a workspace
    fold_batch: bool = False
    #: conv: a folded module whose forward reads one stride-1 window scatters dE/dx from the
    #: GEMM's output laid out "wide" (dE/dy on rows of the padded input's length, the extra
    #: columns zero): every tap's add is then one contiguous run per (channel, sample)
    wide_scatter: bool = False


def weight_flip(layer: Layer) -> bool:
    """Whether the layer reads its kernel rotated (true convolution, ``flip=True``)."""
    taps = np.asarray(layer.weight_tap)
    n = len(taps)
    if (taps == np.arange(n)).all():
        return False
    if (taps == np.arange(n)[::-1]).all():
        return True
    raise CodegenError(f"codegen: {layer.spec.op}: unsupported weight tap order {taps}")


def reads_per_sample(layer: Layer, plan: GatherPlan) -> int:
    """Tap reads of one sample's forward pass: channels x (output position, tap) pairs."""
    return layer.spec.in_channels * sum(ph.n_taps * ph.size for ph in plan.phases)


def uses_threads(layer: Layer, plan: GatherPlan, inverse: GatherPlan = None) -> bool:
    """Whether the module of ``layer`` gets the worker threads and workspace: the layer is
    large enough (:data:`THREAD_MIN_READS`) and has copies or elementwise work for them (a
    direct GEMM has none: its only work is BLAS's)."""
    if reads_per_sample(layer, plan) < THREAD_MIN_READS:
        return False
    if layer.spec.is_pool:
        return True
    plans = (plan,) if inverse is None else (plan, inverse)
    return not all(ph.identity for p in plans for ph in p.phases)


def _wide_taps(plan: GatherPlan, inverse: GatherPlan) -> bool:
    """At least two taps, read forward and backward through stride-1 windows: the wide
    layout's contiguous runs (:attr:`GatherPlan.unit_window`)."""
    return plan.n_taps >= 2 and plan.unit_window and inverse.unit_window


def _depthwise(layer: Layer, plan: GatherPlan, inverse: GatherPlan) -> bool:
    """A stride-1 depthwise convolution (each channel its own group) of at least two taps
    whose forward and inverse plans have the wide layout."""
    spec = layer.spec
    if spec.kind != "conv" or not spec.in_channels == spec.out_channels == spec.groups:
        return False
    return _wide_taps(plan, inverse)


def implicit_applies(layer: Layer, plan: GatherPlan, inverse: GatherPlan) -> bool:
    """Whether the implicit GEMM can run ``layer``: a convolution of at least two taps, not
    depthwise (which has its own taps), whose forward and inverse plans both read through
    stride-1 windows (:attr:`GatherPlan.unit_window`)."""
    if not layer.spec.has_weight or _depthwise(layer, plan, inverse):
        return False
    return _wide_taps(plan, inverse)


def winograd_missing(layer: Layer) -> list:
    """What ``layer`` lacks for the Winograd F(2x2, 3x3) kernels (empty when they can run it):
    a 2-D convolution (not transposed) with a 3x3 kernel, stride 1, dilation 1 and one group;
    any padding, flip, bias and channel counts."""
    spec = layer.spec
    rules = (
        (spec.kind == "conv", "a convolution (not transposed, not a pool)"),
        (spec.ndim == 2, "2-D"),
        (tuple(spec.kernel_size) == (3, 3), "a 3x3 kernel"),
        (tuple(spec.stride) == (1, 1), "stride 1"),
        (tuple(spec.dilation) == (1, 1), "dilation 1"),
        (spec.groups == 1, "groups 1"),
    )
    return [text for ok, text in rules if not ok]


def winograd_applies(layer: Layer) -> bool:
    """Whether the Winograd F(2x2, 3x3) kernels can run ``layer`` (:func:`winograd_missing`)."""
    return not winograd_missing(layer)


def _winograd(layer: Layer, plan: GatherPlan, inverse: GatherPlan) -> Strategy:
    summary = (
        "Winograd F(2x2, 3x3): 4x4 input tiles at stride 2 transformed (B^T d B), one batched "
        "GEMM of the 16 transformed weight and tile matrices, 2x2 output tiles transformed "
        "back (A^T M A); dE/dx through the same kernels, dE/dw by GEMM"
    )
    return Strategy("Winograd", summary, "numpy/winograd.py.jinja", False, plan, inverse)


def _gemm(layer: Layer, plan: GatherPlan, inverse: GatherPlan, threads: bool) -> Strategy:
    spec = layer.spec
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    # dE/dx: gather dE/dy through the inverse map (copies, Og*T per input position) or
    # scatter W'^T dE/dy back through the forward map (col2im: read-modify-write adds, Cg*T
    # per output position); the cheaper one is generated
    gather_cost = sum(cout_g * ph.n_taps * ph.size for ph in inverse.phases if not ph.identity)
    scatter_cost = 2 * sum(cin_g * ph.n_taps * ph.size for ph in plan.phases)
    dx_scatter = scatter_cost < gather_cost
    # one phase whose taps are gathered into columns (not the input itself)
    gathered = plan.single and not plan.phases[0].identity
    fold = not threads and dx_scatter and gathered
    choices = dict(
        template="numpy/conv.py.jinja",
        threads=threads,
        plan=plan,
        inverse=inverse,
        dx_scatter=dx_scatter,
        fold_bias=spec.bias and gathered,
        reuse_columns=(
            threads
            and spec.groups == 1
            and any(not ph.identity and ph.n_taps for ph in plan.phases)
        )
        or fold,
        # a small layer's per-sample GEMMs are too small for BLAS to run well
        fold_batch=fold,
        wide_scatter=fold and plan.unit_window,
    )
    blocks = ""
    if spec.groups > 1 and threads:
        blocks = " per block of groups (blocked so the columns stay in cache)"
    if all(ph.identity for ph in plan.phases) and plan.single:
        return Strategy(
            "direct GEMM", f"direct GEMM on the input (one tap, no copy){blocks}", **choices
        )
    if plan.single:
        return Strategy(
            "im2col GEMM",
            f"im2col + GEMM: the {plan.phases[0].n_taps} taps gathered into one column buffer, "
            f"one batched GEMM{blocks}",
            **choices,
        )
    return Strategy(
        "polyphase im2col GEMM",
        f"polyphase im2col + GEMM: {len(plan.phases)} output phases, each a gather and one "
        f"batched GEMM{blocks}",
        **choices,
    )


def choose(layer: Layer, implicit: bool = False, winograd: bool = False) -> Strategy:
    """The :class:`Strategy` of ``layer``'s generated module (its plans checked against the
    layer's flat index map). ``implicit``: the implicit GEMM instead of im2col (a threaded
    module whatever the layer's size); the layer must be one it can run
    (:func:`implicit_applies`). ``winograd``: the Winograd F(2x2, 3x3) kernels (on request only,
    see the module docstring); the layer must be one they can run (:func:`winograd_missing`)."""
    spec = layer.spec
    if implicit and winograd:
        raise CodegenError(
            "codegen: implicit=True and winograd=True are two different strategies: ask for "
            "one of them"
        )
    if winograd:
        missing = winograd_missing(layer)
        if missing:
            raise CodegenError(
                "codegen: winograd=True needs a 2-D convolution with a 3x3 kernel, stride 1, "
                f"dilation 1 and groups 1 (this layer lacks: {'; '.join(missing)}), got {spec!r}"
            )
    plan = forward_plan(layer)
    check_against_index_map(layer, plan)
    if spec.is_pool:
        if not plan.single:
            raise CodegenError(f"codegen: {spec.op}: a pool's index map must have one phase")
        threads = uses_threads(layer, plan)
        op = "maximum" if spec.kind == "max_pool" else "sum"
        blocks = ", blocked over (sample, channel) planes" if threads else ""
        summary = f"unrolled {op} over the {plan.n_taps} taps' strided views{blocks}"
        return Strategy("pool taps", summary, "numpy/pool.py.jinja", threads, plan)
    inverse = inverse_plan(layer)
    threads = uses_threads(layer, plan, inverse)
    if implicit:
        if not implicit_applies(layer, plan, inverse):
            raise CodegenError(
                f"codegen: implicit=True needs a dense convolution of at least two taps read "
                f"with stride 1 (not depthwise), got {spec!r}"
            )
        summary = (
            f"implicit GEMM: the {plan.n_taps} taps accumulated, one GEMM per tap over a "
            "contiguous run of a zero-bordered wide flat copy of x (no column buffer)"
        )
        return Strategy("implicit GEMM", summary, "numpy/implicit.py.jinja", True, plan, inverse)
    if winograd:
        return _winograd(layer, plan, inverse)
    if _depthwise(layer, plan, inverse):
        summary = (
            "depthwise taps: one channel per group leaves no channel contraction for a GEMM, "
            "so the taps are unrolled into multiply-adds over a zero-bordered wide flat copy of "
            "each channel" + (", blocked over channels" if threads else "")
        )
        return Strategy(
            "depthwise taps", summary, "numpy/depthwise.py.jinja", threads, plan, inverse
        )
    return _gemm(layer, plan, inverse, threads)


def strategy(layer: Layer, implicit: bool = False, winograd: bool = False) -> str:
    """The name of the strategy :func:`generate_numpy` picks for ``layer``."""
    return choose(layer, implicit, winograd).name
