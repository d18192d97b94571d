"""Benchmark: structural derivation versus naive SymPy construction and sympy.diff.

Prints, in one run on this machine:

1. LeNet-5 conv1 (1x32x32 input, 6 filters 5x5, bias): time to build the forward expressions,
   all gradients and the Toeplitz matrix with every entry a materialized SymPy expression
   (target: at most 2 s on 2 cores), against the same expressions built naively with SymPy's
   canonicalizing Add/Mul constructors;
2. a 16x16 input with a 5x5 kernel: symconv's gradients against differentiating the full
   expression E = sum_o dE/dy_o * y_o with sympy.diff (target: at least 100x faster);
3. peak Python memory (tracemalloc) of the LeNet-5 conv1 build.

Run: python examples/benchmark_derivation.py [--skip-naive]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import sympy

import symconv


def lenet_conv1():
    return symconv.conv((32, 32), 5, in_channels=1, out_channels=6, bias=True)


def build_structural(layer):
    deriv = symconv.derive(layer)
    toeplitz = deriv.toeplitz()
    return deriv, toeplitz


def build_naive(layer):
    """The same expressions with canonical constructors, straight from the textbook formula."""
    spec = layer.spec
    (H, W), (K, _) = spec.input_size, spec.kernel_size
    OH, OW = spec.output_size
    x = [[sympy.Symbol(f"x_{i + 1},{j + 1}", real=True) for j in range(W)] for i in range(H)]
    w = [
        [
            [sympy.Symbol(f"w_{c + 1},{i + 1},{j + 1}", real=True) for j in range(K)]
            for i in range(K)
        ]
        for c in range(spec.out_channels)
    ]
    b = [sympy.Symbol(f"b_{c + 1}", real=True) for c in range(spec.out_channels)]
    dy = [
        [
            [sympy.Symbol(f"dy_{c + 1},{i + 1},{j + 1}", real=True) for j in range(OW)]
            for i in range(OH)
        ]
        for c in range(spec.out_channels)
    ]
    C = spec.out_channels
    y = [
        [
            [
                sympy.Add(
                    b[c],
                    *[sympy.Mul(x[i + m][j + n], w[c][m][n]) for m in range(K) for n in range(K)],
                )
                for j in range(OW)
            ]
            for i in range(OH)
        ]
        for c in range(C)
    ]
    gw = [
        [
            [
                sympy.Add(
                    *[
                        sympy.Mul(dy[c][i][j], x[i + m][j + n])
                        for i in range(OH)
                        for j in range(OW)
                    ]
                )
                for n in range(K)
            ]
            for m in range(K)
        ]
        for c in range(C)
    ]
    gx = [[[] for _ in range(W)] for _ in range(H)]
    T = {}
    for c in range(C):
        for i in range(OH):
            for j in range(OW):
                for m in range(K):
                    for n in range(K):
                        gx[i + m][j + n].append(sympy.Mul(dy[c][i][j], w[c][m][n]))
                        T[((c * OH + i) * OW + j, (i + m) * W + j + n)] = w[c][m][n]
    gx = [[sympy.Add(*terms) for terms in row] for row in gx]
    gb = [sympy.Add(*[dy[c][i][j] for i in range(OH) for j in range(OW)]) for c in range(C)]
    return y, gw, gx, gb, sympy.SparseMatrix(C * OH * OW, H * W, T)


def diff_gradients(layer):
    """Gradients by sympy.diff of E = sum(dy * y) with respect to every x and w symbol."""
    deriv = symconv.derive(layer)
    y = sympy.flatten(deriv.y.tolist())
    dy = sympy.flatten(deriv.dy.tolist())
    E = sympy.Add(*[d * e for d, e in zip(dy, y)])
    gx = [sympy.diff(E, s) for s in sympy.flatten(deriv.x.tolist())]
    gw = [sympy.diff(E, s) for s in sympy.flatten(deriv.w.tolist())]
    return gx, gw


def timed(fn, *args, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-naive", action="store_true", help="skip the slow naive build")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (best is kept)")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, sympy {sympy.__version__}")

    layer = lenet_conv1()
    deriv, T = build_structural(layer)
    entries = deriv.y.rank() and (
        len(sympy.flatten(deriv.y.tolist()))
        + len(sympy.flatten(deriv.grad_x.tolist()))
        + len(sympy.flatten(deriv.grad_w.tolist()))
        + len(sympy.flatten(deriv.grad_b.tolist()))
    )
    t_struct = timed(build_structural, layer, repeat=args.repeat)
    print(f"\n1. LeNet-5 conv1 {layer!r}")
    print(f"   {entries} expressions, Toeplitz {T.shape[0]}x{T.shape[1]} with {T.nnz()} non-zeros")
    print(
        f"   symconv structural build (forward + all gradients + Toeplitz): {t_struct:.3f} s"
        f"  [target <= 2 s] {'OK' if t_struct <= 2 else 'MISSED'}"
    )
    if not args.skip_naive:
        t_naive = timed(build_naive, layer)
        print(
            f"   naive canonical Add/Mul build of the same expressions:          {t_naive:.3f} s"
        )
        print(f"   speed-up: {t_naive / t_struct:.1f}x")

    small = symconv.conv((16, 16), 5)
    t_sym = timed(lambda: symconv.derive(small), repeat=args.repeat)
    t_diff = timed(diff_gradients, small)
    print(f"\n2. {small!r}")
    print(
        f"   symconv gradients: {t_sym:.4f} s; sympy.diff of the full expression: {t_diff:.3f} s"
    )
    ratio = t_diff / t_sym
    print(f"   speed-up: {ratio:.0f}x  [target >= 100x] {'OK' if ratio >= 100 else 'MISSED'}")

    tracemalloc.start()
    build_structural(layer)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\n3. peak Python memory of the LeNet-5 conv1 build (tracemalloc): {peak / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
