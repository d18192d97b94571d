"""Train a LeNet-style CNN on scikit-learn's bundled 8x8 digits with symconv's generated code.

The network is symconv's built-in ``lenet_digits`` example (conv-relu-pool twice, then a
120-84-10 MLP with the fused softmax cross-entropy, dL/dz = yhat - y). symconv generates one
NumPy-only module for it; this script imports that module and trains it with plain minibatch
SGD (w <- w - lr dL/dw), with no PyTorch anywhere. It shows a progress bar and the loss per
epoch, reports the test accuracy and, when matplotlib is installed, saves the loss curve.

    pip install scikit-learn matplotlib     # optional example dependencies
    python examples/train_lenet_digits.py [--epochs 20] [--plot loss.png] [--save-module net.py]

Exit status: 0 on success, 2 when scikit-learn is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import symconv.network


def progress(epoch, epochs, done, total, loss, width=30):
    filled = int(width * done / total)
    bar = "#" * filled + "." * (width - filled)
    sys.stderr.write(f"\repoch {epoch:2d}/{epochs} [{bar}] {done:4d}/{total} loss {loss:.4f}")
    sys.stderr.flush()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default="lenet_digits_loss.png", help="loss curve image")
    parser.add_argument("--save-module", help="also write the generated module to this file")
    parser.add_argument(
        "--kernels",
        default="codegen",
        choices=["codegen", "index_map"],
        help="conv/pool kernels: symconv.codegen modules (default) or compact index-map ones",
    )
    args = parser.parse_args(argv)

    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        print(
            "error: this example needs scikit-learn for its bundled digits data; "
            "install scikit-learn (pip install scikit-learn)",
            file=sys.stderr,
        )
        return 2

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float64)[:, None, :, :]  # (N, 1, 8, 8) in [0, 1]
    y = digits.target
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=args.seed, stratify=y
    )

    net_spec = symconv.network.example("lenet_digits")
    print(net_spec.summary())
    t0 = time.perf_counter()
    source = net_spec.codegen(kernels=args.kernels)
    if args.save_module:
        Path(args.save_module).write_text(source, encoding="utf-8")
        print(f"wrote the generated module to {args.save_module}")
    gen = symconv.network.load_generated(source, "lenet_digits_generated")
    t_gen = time.perf_counter() - t0
    print(
        f"generated {len(source.splitlines())} lines of NumPy ({args.kernels} kernels) "
        f"in {t_gen:.2f} s"
    )

    net = gen.Network(seed=args.seed)
    rng = np.random.default_rng(args.seed)
    n = len(x_train)
    steps_per_epoch = -(-n // args.batch_size)
    history, epoch_losses = [], []
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(n)
        running = 0.0
        for k, start in enumerate(range(0, n, args.batch_size), start=1):
            idx = order[start : start + args.batch_size]
            batch_loss = net.train_step(x_train[idx], y_train[idx], args.lr)
            history.append(batch_loss)
            running += batch_loss
            if k % 5 == 0 or k == steps_per_epoch:
                progress(epoch, args.epochs, min(start + args.batch_size, n), n, running / k)
        epoch_losses.append(running / steps_per_epoch)
        acc = float(np.mean(net.predict(x_test) == y_test))
        sys.stderr.write("\n")
        print(f"epoch {epoch:2d}: mean train loss {epoch_losses[-1]:.4f}, test accuracy {acc:.4f}")
    t_train = time.perf_counter() - t0

    accuracy = float(np.mean(net.predict(x_test) == y_test))
    print(
        f"test accuracy {accuracy:.4f} ({int(round(accuracy * len(y_test)))}/{len(y_test)}) "
        f"after {args.epochs} epochs; training took {t_train:.1f} s "
        f"({t_train / (args.epochs * steps_per_epoch) * 1e3:.2f} ms per step of "
        f"{args.batch_size})"
    )
    print(f"loss fell from {epoch_losses[0]:.4f} (epoch 1) to {epoch_losses[-1]:.4f}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed; no loss plot (pip install matplotlib)")
    else:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(np.arange(1, len(history) + 1) / steps_per_epoch, history, lw=0.6, alpha=0.5)
        ax.plot(np.arange(1, args.epochs + 1), epoch_losses, "o-", label="epoch mean")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy")
        ax.set_yscale("log")
        ax.set_title(f"lenet_digits, generated NumPy code: test accuracy {accuracy:.3f}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"saved the loss curve to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
