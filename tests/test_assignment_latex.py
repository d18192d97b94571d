"""Handouts and keys of the 3-question example assignment compile with pdflatex, with no
overfull box above 1 pt (the log is parsed as in test_latex_grid), and hold no answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from symconv import assignment
from symconv.latex.compile import compile_pdf
from test_latex_grid import bad_boxes

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "assignment" / "assignment.json"

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")

#: a wide multi-channel question and a Toeplitz matrix, on top of the example's three
WIDE = {
    "id": "q4",
    "points": 1,
    "layer": {
        "kind": "conv",
        "input_size": [3, 4],
        "kernel_size": 2,
        "in_channels": 2,
        "out_channels": 2,
        "bias": True,
    },
    "quantities": ["toeplitz", "grad-weight", "output-size"],
    "givens": {"w": {"range": [-9, 9]}, "dy": {"range": [-5, 5]}},
    "figure": True,
}


@pytest.mark.parametrize("extra", [False, True], ids=["example", "with-wide-question"])
def test_handouts_and_keys_compile_without_overfull_boxes(tmp_path, extra):
    data = json.loads(EXAMPLE.read_text())
    assert len(data["questions"]) == 3
    if extra:
        data["questions"].append(WIDE)
    a = assignment.load(data)
    assignment.make(a, ["ann", "bob"], tmp_path / "out", pdf=True, jobs=2)
    for sub in ("handouts", "keys"):
        for sid in ("ann", "bob"):
            pdf = tmp_path / "out" / sub / f"{sid}.pdf"
            assert pdf.exists() and pdf.stat().st_size > 1000
            log = pdf.with_suffix(".log").read_text(encoding="latin-1")
            over = [b for b in bad_boxes(log) if "Overfull" in b[1]]
            assert not over, (sub, sid, over)
    # the handout holds no answer: every key matrix row is absent from it
    key = json.loads((tmp_path / "out" / "keys" / "ann.json").read_text())
    tex = (tmp_path / "out" / "handouts" / "ann.tex").read_text()
    for q in key["questions"].values():
        for ans in q["answers"].values():
            flat = json.dumps(ans)
            assert flat not in tex
    assert "answer key" in (tmp_path / "out" / "keys" / "ann.tex").read_text()


def test_compile_pdf_of_one_handout_is_reproducible(tmp_path):
    a = assignment.load(EXAMPLE)
    v = assignment.variant(a, "ann")
    from symconv.assignment.handout import handout_tex

    tex = handout_tex(a, v)
    assert tex == handout_tex(a, assignment.variant(a, "ann"))
    pdf = compile_pdf(tex, tmp_path / "h.pdf", runs=1)
    assert pdf.read_bytes()[:4] == b"%PDF"
