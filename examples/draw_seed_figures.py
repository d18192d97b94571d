"""Draw every figure kind for the seed layers into a folder (default ``figures/``).

Seed 000's 3x3 input and 2x2 kernel (window, windows, gradients, W), seed 003's strided,
pooled and transposed examples, and LeNet-5's feature maps; each as SVG and PNG, the
``windows`` animations as GIF, and the TikZ of seed 000's window. Run:

    python examples/draw_seed_figures.py [folder]
"""

from __future__ import annotations

import sys
from pathlib import Path

import symconv
from symconv.figures import figure

SEED000 = symconv.conv((3, 3), 2)
SEED000_VALUES = {"x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "w": [[1, 0], [-1, 2]]}
STRIDED = symconv.conv((5, 5), 3, stride=2, padding=1)
POOL = symconv.max_pool((4, 4), 2)
POOL_VALUES = {
    "x": [[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 3, 3], [1, 0, 4, 2]],
    "dy": [[1, 2], [3, 4]],
}
TRANSPOSED = symconv.conv_transpose((2, 2), 3, stride=2, output_padding=1)

FIGURES = [
    ("seed000_window", SEED000, "window", {"position": (1, 2), "values": SEED000_VALUES}),
    ("seed000_windows", SEED000, "windows", {}),
    ("seed000_grad_input", SEED000, "grad-input", {"position": (2, 2)}),
    ("seed000_grad_weight", SEED000, "grad-weight", {"position": (1, 1)}),
    ("seed000_toeplitz", SEED000, "toeplitz", {}),
    ("seed003_strided_windows", STRIDED, "windows", {}),
    ("seed003_strided_grad_input", STRIDED, "grad-input", {"position": (3, 3)}),
    ("seed003_max_pool", POOL, "pool", {"values": POOL_VALUES}),
    ("seed003_avg_pool", symconv.avg_pool((4, 4), 2), "pool", {}),
    ("seed003_transpose", TRANSPOSED, "transpose", {}),
    ("seed003_transpose_conv", TRANSPOSED, "transpose-conv", {"position": (3, 3)}),
    ("lenet5", symconv.example("lenet5"), "network", {}),
]


def main(folder: str = "figures") -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, subject, kind, options in FIGURES:
        fig = figure(subject, kind, **options)
        written = [fig.save(out / f"{name}.svg"), fig.save(out / f"{name}.png")]
        if len(fig) > 1:
            written.append(fig.save(out / f"{name}.gif"))
        print(f"{name}: {kind}, {len(fig)} frame(s) -> {', '.join(p.name for p in written)}")
    tex = figure(SEED000, "window", position=(1, 2), values=SEED000_VALUES).save(
        out / "seed000_window.tex"
    )
    print(f"TikZ: {tex} (pdflatex {tex.name})")


if __name__ == "__main__":
    main(*sys.argv[1:2])
