"""``symconv network``: a whole network's summary, backprop LaTeX, generated NumPy module,
gradient check or computation graph."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from ..core.errors import SpecError
from ..fileio import check_folder, write_atomic
from ..latex.network import network_latex
from .latex import add_text_options, text_options
from ..nn.graph import write_graph
from ..nn.network import EXAMPLES, example, example_names, load_network

__all__ = ["register", "format_gradcheck"]


def register(subparsers) -> None:
    """Add ``symconv network`` to the CLI."""
    p = subparsers.add_parser(
        "network",
        help="whole networks: summary, backprop LaTeX, generated NumPy code, gradcheck, graph",
        description="Load a network from a JSON/TOML SPEC file or a built-in --example and "
        "print its summary (default), backprop LaTeX, generated NumPy module, gradient check "
        "or computation graph.",
    )
    p.add_argument("spec", nargs="?", help="network spec file (.json, or .toml on Python 3.11+)")
    p.add_argument("--example", help=f"built-in network: {', '.join(EXAMPLES)}")
    p.add_argument("--list-examples", action="store_true", help="list the built-in networks")
    p.add_argument("--summary", action="store_true", help="layer table with parameter counts")
    p.add_argument("--latex", action="store_true", help="backprop recursions as LaTeX")
    p.add_argument(
        "--document",
        choices=["article", "snippet", "beamer"],
        default="article",
        help="--latex as an article (default), a snippet (the body alone) or Beamer slides",
    )
    p.add_argument(
        "--aspect", choices=["169", "43"], default="169", help="--document beamer aspect ratio"
    )
    add_text_options(p, '"Backpropagation through NAME"', "the network's description")
    p.add_argument("--codegen", action="store_true", help="generated NumPy module")
    p.add_argument(
        "--gradcheck", action="store_true", help="finite differences, references, torch"
    )
    p.add_argument(
        "--graph", metavar="FILE", help="computation graph: .dot (or .svg/.png with dot)"
    )
    p.add_argument("--json", action="store_true", help="summary/gradcheck as JSON")
    p.add_argument("-o", "--output", metavar="FILE", help="write --latex/--codegen to FILE")
    p.set_defaults(func=_run)


def _run(args) -> int:
    if args.list_examples:
        for name in example_names():
            net = example(name)
            print(f"{name:14s} {net.description}")
        return 0
    if args.spec and args.example:
        raise SpecError("network: give a SPEC file or --example, not both")
    if args.example:
        net = example(args.example)
    elif args.spec:
        net = load_network(args.spec)
    else:
        raise SpecError("network: a SPEC file or --example NAME is required, got neither")
    for path in (args.output, args.graph):
        if path:
            check_folder(path, "network")
    did = False
    if args.graph:
        written = write_graph(net, args.graph)
        for f in written:
            print(f"wrote {f}", file=sys.stderr)
        if not shutil.which("dot") and Path(args.graph).suffix.lower() in (".svg", ".png", ".pdf"):
            print("note: Graphviz 'dot' not found; wrote DOT only", file=sys.stderr)
        did = True
    outputs = []
    if args.latex:
        outputs.append(
            network_latex(net, document=args.document, aspect=args.aspect, **text_options(args))
        )
    if args.codegen:
        from ..codegen.network import network_source  # the codegen stage loads when used

        outputs.append(network_source(net))
    if outputs:
        text = "\n".join(outputs)
        if args.output:
            write_atomic(args.output, text)
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        did = True
    status = 0
    if args.gradcheck:
        report = net.gradcheck()
        if args.json:
            print(json.dumps(report, indent=2, default=str))
        else:
            print(format_gradcheck(report))
        status = 0 if report["ok"] else 1
        did = True
    if args.summary or not did:
        if args.json:
            print(
                json.dumps(
                    {"summary": net.summary_rows(), "total_params": net.parameter_count},
                    indent=2,
                    default=list,
                )
            )
        else:
            print(net.summary())
    return status


def format_gradcheck(report) -> str:
    """The text report of :func:`symconv.nn.gradcheck.gradcheck`: the largest relative error
    of each check and the verdict."""
    lines = [f"gradcheck {report['network']}: loss {report['loss']:.6g}, batch {report['batch']}"]
    for check, values in report["checks"].items():
        if isinstance(values, str):
            lines.append(f"  {check}: {values}")
            continue
        worst = max([v for v in values.values() if isinstance(v, float)], default=0.0)
        lines.append(f"  {check}: max relative error {worst:.2e} over {len(values)} arrays")
    verdict = "OK" if report["ok"] else "FAILED"
    lines.append(f"{verdict} (finite differences within 1e-5, references and PyTorch within 1e-9)")
    return "\n".join(lines)
