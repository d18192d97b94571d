"""Moodle export (``symconv assignment export --to moodle``): the XML parses, every Cloze blank's
right value equals the key computed here from the given matrices by the reference loops of
core/reference.py, every listed wrong value differs from it and carries a diagnosis, and a
flipped kernel, a forgotten bias and a sign slip are recomputed by loops in this file and found
in the blanks. The blanks are read back by a small Cloze parser written here (it shares no code
with the exporter)."""

from __future__ import annotations

import html
import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction

import numpy as np
import pytest

from symconv import assignment
from symconv.assignment.export import export
from symconv.assignment.export.moodle import MAX_VARIANTS, cloze_text, export_moodle
from symconv.assignment.variants import draw_question
from symconv.cli import main
from symconv.core import reference
from symconv.core.errors import SpecError
from symconv.grading import DIAGNOSES

TOL = Fraction(1, 1000)
N = 3

A = {
    "title": "HW 7 / kernels & <pools>",
    "course": "Test course",
    "seed": "moodle-test-seed",
    "questions": [
        {
            "id": "q1",
            "prompt": "Forward pass, $y = x \\star w + b$; not a blank: {1:NUMERICAL:=3} ]]> ~end",
            "layer": {
                "kind": "conv",
                "input_size": [4, 4],
                "kernel_size": 2,
                "stride": {"choice": [1, 2]},
                "padding": {"choice": [0, 1]},
                "bias": True,
            },
            "quantities": ["output"],
            "givens": {
                "x": {"range": [-3, 3]},
                "w": {"range": [-2, 2], "exclude_zero": True},
                "b": {"range": [1, 3]},
            },
        },
        {
            "id": "q2",
            "layer": {"kind": "conv", "input_size": [4, 4], "kernel_size": {"choice": [2, 3]}},
            "quantities": ["grad-input", "grad-weight"],
            "givens": {
                "x": {"range": [-2, 2]},
                "w": {"range": [-2, 2], "exclude_zero": True},
                "dy": {"range": [-2, 2]},
            },
            "constraints": {"no_zero_answer": True},
        },
        {
            "id": "q3",
            "layer": {"kind": "avg_pool", "input_size": [5, 5], "kernel_size": 3, "stride": 2},
            "quantities": ["grad-input"],
            "givens": {"dy": {"range": [1, 5]}},
        },
        {
            "id": "q4",
            "layer": {
                "kind": "conv",
                "ndim": 1,
                "input_size": 5,
                "kernel_size": 2,
                "out_channels": 2,
                "stride": 2,
            },
            "quantities": ["toeplitz", "output-size"],
            "givens": {"w": {"range": [-3, 3], "exclude_zero": True}},
        },
    ],
}


# ------------------------------------------------------------------ an independent Cloze reader
def _split(text, sep):
    """Split at ``sep`` characters not escaped by a backslash."""
    parts, cur, i = [], "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            cur += text[i : i + 2]
            i += 2
            continue
        if text[i] == sep:
            parts.append(cur)
            cur = ""
        else:
            cur += text[i]
        i += 1
    parts.append(cur)
    return parts


def _number(text):
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?", text)
    assert m, f"not a Moodle NUMERICAL answer: {text!r}"
    return Fraction(m.group(1)), Fraction(m.group(2) or 0)


def read_blanks(text):
    """Every ``{w:NUMERICAL:...}`` of a question text: ``(weight, [(fraction, value, tolerance,
    feedback)])`` with value None for the catch-all ``*``."""
    blanks, i = [], 0
    head = re.compile(r"\{(\d*):(NUMERICAL|NM):")
    while True:
        m = head.search(text, i)
        if not m:
            return blanks
        j, body = m.end(), ""
        while text[j] != "}" or text[j - 1] == "\\":
            body += text[j]
            j += 1
        alts = []
        for alt in _split(body, "~"):
            if alt.startswith("="):
                frac, alt = 100, alt[1:]
            else:
                pm = re.match(r"%(-?\d+(?:\.\d+)?)%", alt)
                frac, alt = (Fraction(pm.group(1)), alt[pm.end() :]) if pm else (0, alt)
            answer, _, feedback = alt.partition("#")
            feedback = html.unescape(feedback).replace("\\}", "}").replace("\\#", "#")
            if answer == "*":
                alts.append((frac, None, None, feedback))
            else:
                value, tol = _number(answer)
                alts.append((frac, value, tol, feedback))
        blanks.append((int(m.group(1) or 1), alts))
        i = j + 1


# ------------------------------------------------------------------ the exported file
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("moodle") / "questions.xml"
    a = assignment.load(A)
    export(a, "moodle", path, variants=N)
    return a, path, path.read_bytes()


def _questions(data):
    """``[(category text, [(comment, question element), ...]), ...]``"""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.fromstring(data, parser=parser)
    assert root.tag == "quiz"
    out, comment = [], None
    for el in root:
        if el.tag is ET.Comment:
            comment = el.text
        elif el.get("type") == "category":
            out.append((el.find("category/text").text, []))
        else:
            assert el.get("type") == "cloze"
            out[-1][1].append((comment, el))
    return out


def _drawn(a, qid, comment):
    m = re.search(r"drawn as student '([^']+)', salt (\d+)", comment)
    return draw_question(a, a.question(qid), m.group(1), verify=False, salt=int(m.group(2)))


def _html(question):
    text = question.find("questiontext/text").text
    assert question.find("questiontext").get("format") == "html"
    return text, ET.fromstring(text)


def _tables(root, cls):
    """``[(name above the table or '', [[cell text, ...], ...])]`` of the tables of ``cls``."""
    out, name = [], ""
    for el in root:
        if el.tag == "p":
            name = "".join(el.itertext())
        if el.tag == "table" and el.get("class") == cls:
            out.append((name, [["".join(td.itertext()) for td in tr] for tr in el]))
    return out


def _given_arrays(root, spec):
    """The given matrices read off the question's HTML, reshaped as the layer's arrays."""
    shapes = {"x": spec.x_shape, "w": spec.w_shape, "b": spec.b_shape, "\u2202E/\u2202y": None}
    found = {}
    for name, rows in _tables(root, "symconv-given"):
        base = name.split("[")[0]
        found.setdefault(base, []).extend(Fraction(v) for row in rows for v in row)
    out = {}
    for base, flat in found.items():
        shape = spec.y_shape if base == "\u2202E/\u2202y" else shapes[base]
        arr = np.empty(len(flat), dtype=object)
        arr[:] = flat
        out[{"\u2202E/\u2202y": "dy"}.get(base, base)] = arr.reshape(shape)
    return out


def _key(spec, quantity, g):
    """The answer by the reference loops of core/reference.py, from the given arrays."""
    if quantity == "output-size":
        return np.array([Fraction(n) for n in reference.output_size(spec)], dtype=object)
    if quantity == "output":
        return reference.forward(spec, g["x"], g.get("w"), g.get("b"))
    if quantity == "toeplitz":
        rows = []
        for i in range(math.prod(spec.x_shape)):
            e = np.zeros(math.prod(spec.x_shape), dtype=object)
            e[:] = Fraction(0)
            e[i] = Fraction(1)
            rows.append(reference.forward(spec, e.reshape(spec.x_shape), g["w"]).reshape(-1))
        return np.array(rows, dtype=object)
    zeros = np.full(spec.x_shape, Fraction(0), dtype=object)
    dx, dw, _ = reference.backward(spec, g["dy"], g.get("x", zeros), g.get("w"))
    return {"grad-input": dx, "grad-weight": dw}[quantity]


def _blanks_by_quantity(a, qid, comment, question):
    """``(spec, givens, {quantity: (key, [blank, ...])}, html root)`` of one variant."""
    q = a.question(qid)
    qv = _drawn(a, qid, comment)
    text, root = _html(question)
    g = _given_arrays(root, qv.layer.spec)
    blanks = read_blanks(text)
    out, start = {}, 0
    for qty in q.quantities:
        key = _key(qv.layer.spec, qty, g)
        out[qty] = (key, blanks[start : start + key.size])
        start += key.size
    assert start == len(blanks)
    return qv, g, out, root


def _variants(a, data):
    for (cat, items), q in zip(_questions(data), a.questions):
        for comment, question in items:
            yield q.id, comment, question


# ------------------------------------------------------------------ tests
def test_categories_and_fields(exported):
    a, _, data = exported
    cats = _questions(data)
    assert [c for c, _ in cats] == [
        f"$course$/top/HW 7 // kernels & <pools>/{q.id}" for q in a.questions
    ]
    for (_, items), q in zip(cats, a.questions):
        assert len(items) == N
        for k, (comment, question) in enumerate(items, start=1):
            assert question.find("name/text").text == f"{q.id} variant {k} of {N}"
            assert f"student 'moodle-{k}'" in comment
            assert question.find("generalfeedback").get("format") == "html"
            assert float(question.find("penalty").text) == pytest.approx(1 / 3)
            assert question.find("hidden").text == "0"


def test_given_matrices_are_the_variants(exported):
    a, _, data = exported
    for qid, comment, question in _variants(a, data):
        qv, g, _, _ = _blanks_by_quantity(a, qid, comment, question)
        assert sorted(g) == sorted(qv.givens)
        for name, arr in qv.givens.items():
            assert g[name].tolist() == np.asarray(arr).tolist()


def test_right_values_equal_the_reference_key(exported):
    a, _, data = exported
    checked = 0
    for qid, comment, question in _variants(a, data):
        _, _, parts, _ = _blanks_by_quantity(a, qid, comment, question)
        for qty, (key, blanks) in parts.items():
            for want, (_, alts) in zip(key.reshape(-1), blanks):
                frac, value, tol, feedback = alts[0]
                assert frac == 100 and feedback == "right"
                if Fraction(want).denominator == 1:
                    assert (value, tol) == (want, 0)
                else:
                    assert tol == TOL and abs(value - want) < Fraction(1, 10**6)
                checked += 1
    assert checked > 200


def test_non_integer_keys_have_a_tolerance(exported):
    a, _, data = exported
    seen = 0
    for qid, comment, question in _variants(a, data):
        if qid != "q3":
            continue
        text, _ = _html(question)
        assert "at least 3 decimal places" in text
        _, _, parts, _ = _blanks_by_quantity(a, qid, comment, question)
        key, blanks = parts["grad-input"]
        for want, (_, alts) in zip(key.reshape(-1), blanks):
            if Fraction(want).denominator % 3 == 0:  # ninths: no finite decimal
                seen += 1
                assert alts[0][2] == TOL and alts[0][1] != want
    assert seen > 0


def test_wrong_values_differ_and_carry_a_diagnosis(exported):
    a, _, data = exported
    listed = 0
    for qid, comment, question in _variants(a, data):
        _, _, parts, _ = _blanks_by_quantity(a, qid, comment, question)
        for key, blanks in parts.values():
            for want, (_, alts) in zip(key.reshape(-1), blanks):
                *wrong, catch_all = alts[1:]
                assert catch_all[:2] == (0, None) and "no mistake" in catch_all[3]
                values = [v for _, v, _, _ in wrong]
                assert len(set(values)) == len(values)
                for frac, value, tol, feedback in wrong:
                    assert frac == 0
                    assert abs(value - want) > tol, (qid, want, value)
                    assert value != 0
                    codes = _codes(feedback)
                    assert codes and feedback.startswith(codes[0] + ": "), feedback
                    assert all(c in DIAGNOSES for c in codes), feedback
                    listed += 1
    assert listed > 100


def test_blank_weights_make_the_answers_count_alike(exported):
    a, _, data = exported
    for qid, comment, question in _variants(a, data):
        _, _, parts, _ = _blanks_by_quantity(a, qid, comment, question)
        totals = {sum(w for w, _ in blanks) for _, blanks in parts.values()}
        assert len(totals) == 1


def test_answer_grids_have_the_answer_shape(exported):
    a, _, data = exported
    for qid, comment, question in _variants(a, data):
        _, _, parts, root = _blanks_by_quantity(a, qid, comment, question)
        tables = _tables(root, "symconv-answer")
        for key, _ in parts.values():
            shape = key.shape
            while len(shape) > 2 and shape[0] == 1:
                shape = shape[1:]
            planes = math.prod(shape[:-2]) if len(shape) > 2 else 1
            grid = shape[-2:] if len(shape) >= 2 else (1, shape[0])
            for _ in range(planes):
                _, rows = tables.pop(0)
                assert (len(rows), len(rows[0])) == tuple(grid)
                assert all(len(read_blanks(c)) == 1 for row in rows for c in row)
        assert not tables


def _true_convolution(x, w, b, stride, pad):
    """2-D convolution with the kernel rotated by 180 degrees, plus bias, by loops."""
    H, W = x.shape
    k = w.shape[0]
    xp = np.full((H + 2 * pad, W + 2 * pad), Fraction(0), dtype=object)
    xp[pad : pad + H, pad : pad + W] = x
    oh, ow = (H + 2 * pad - k) // stride + 1, (W + 2 * pad - k) // stride + 1
    y = np.empty((oh, ow), dtype=object)
    for i in range(oh):
        for j in range(ow):
            y[i, j] = b + sum(
                w[k - 1 - p, k - 1 - q] * xp[i * stride + p, j * stride + q]
                for p in range(k)
                for q in range(k)
            )
    return y


def _codes(feedback):
    """The diagnosis codes of a feedback ``code: text; code: text``."""
    return re.findall(r"(?:^|; )([a-z][a-z-]*): ", feedback)


def _listed(alts, value, code):
    """Whether a blank lists ``value`` as wrong with ``code`` among its diagnoses."""
    return any(v == value and code in _codes(fb) for _, v, _, fb in alts[1:-1])


def test_flipped_kernel_missing_bias_and_sign_found(exported):
    a, _, data = exported
    counts = {"flipped-kernel": 0, "missing-bias": 0, "sign": 0}
    for qid, comment, question in _variants(a, data):
        qv, g, parts, _ = _blanks_by_quantity(a, qid, comment, question)
        spec = qv.layer.spec
        if qid == "q1":
            key, blanks = parts["output"]
            x, w, b = g["x"][0], g["w"][0, 0], g["b"][0]
            flipped = _true_convolution(x, w, b, spec.stride[0], spec.padding[0][0])
            for want, fl, nb, (_, alts) in zip(
                key.reshape(-1), flipped.reshape(-1), (key - b).reshape(-1), blanks
            ):
                if fl != want and fl != 0:
                    assert _listed(alts, fl, "flipped-kernel")
                    counts["flipped-kernel"] += 1
                if nb != 0:
                    assert _listed(alts, nb, "missing-bias")
                    counts["missing-bias"] += 1
        if qid == "q2":
            for key, blanks in parts.values():
                for want, (_, alts) in zip(key.reshape(-1), blanks):
                    if want != 0:
                        assert _listed(alts, -want, "sign")
                        counts["sign"] += 1
    assert min(counts.values()) > 5, counts


def test_prompt_escaping(exported):
    a, _, data = exported
    _, items = _questions(data)[0]
    text, root = _html(items[0][1])
    prompt = "".join(root.find("p").itertext())
    assert prompt == (
        "Forward pass, \\(y = x \\star w + b\\); not a blank: {1:NUMERICAL:=3} ]]> \u00a0end"
    )
    key, _ = _blanks_by_quantity(a, "q1", items[0][0], items[0][1])[2]["output"]
    assert len(read_blanks(text)) == key.size  # the prompt's braces are no blank


@pytest.mark.parametrize(
    "text",
    ["a } b", "x~y", "{1:NM:=2}", "back\\slash #3 \"q\" <b> & 'it'", "\\}~", "a\\#b \\\\} c"],
)
def test_feedback_text_survives_the_cloze_syntax(text):
    blank = "{1:NUMERICAL:=1#right~%0%2#" + cloze_text(text) + "~%0%*#other}"
    ((weight, alts),) = read_blanks(blank)
    assert weight == 1 and [v for _, v, _, _ in alts] == [1, 2, None]
    assert alts[1][3] == text
    ((_, _, malts),) = moodle_blanks(blank)
    assert [a for _, a, _, _ in malts] == [1.0, 2.0, "*"] and malts[1][3] == text


def test_byte_identical(exported, tmp_path):
    a, _, data = exported
    export_moodle(A, tmp_path / "again.xml", variants=N)
    assert (tmp_path / "again.xml").read_bytes() == data


def test_byte_identical_in_another_process(exported, tmp_path):
    """Another interpreter, another hash seed: the same bytes."""
    a, _, data = exported
    out, src = tmp_path / "other.xml", tmp_path / "a.json"
    src.write_text(json.dumps(A))
    code = (
        "import sys; from symconv.assignment.export.moodle import export_moodle; "
        f"export_moodle(sys.argv[1], sys.argv[2], variants={N})"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code, str(src), str(out)], check=True, env=env)
    assert out.read_bytes() == data


def test_variants_are_distinct_where_the_template_allows(exported, tmp_path):
    a, _, data = exported
    for (_, items), q in zip(_questions(data), a.questions):
        seen = set()
        for comment, question in items:
            qv, g, _, _ = _blanks_by_quantity(a, q.id, comment, question)
            seen.add((repr(qv.layer.spec), repr(sorted((k, v.tolist()) for k, v in g.items()))))
        assert len(seen) == N
    tiny = {
        "seed": 5,
        "questions": [
            {
                "id": "t",
                "layer": {"kind": "conv", "input_size": [2, 2], "kernel_size": 1},
                "quantities": ["output"],
                "givens": {"x": {"range": [1, 1]}, "w": {"range": [1, 2]}},
            }
        ],
    }
    export_moodle(tiny, tmp_path / "tiny.xml", variants=4)  # 2 possible variants for 4
    ((_, items),) = _questions((tmp_path / "tiny.xml").read_bytes())
    assert len(items) == 4
    assert {_html(q)[0].count("NUMERICAL") for _, q in items} == {4}


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "3", MAX_VARIANTS + 1])
def test_variants_validation_api(bad, tmp_path):
    with pytest.raises(SpecError, match=r"assignment export: variants must be an integer"):
        export_moodle(A, tmp_path / "q.xml", variants=bad)
    assert not (tmp_path / "q.xml").exists()


def _cli(tmp_path, *extra):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(A))
    return main(["assignment", "export", str(src), *extra])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--variants", "0"], "--variants must be a positive integer, got '0'"),
        (["--variants", "two"], "--variants must be a positive integer, got 'two'"),
        (["--variants", str(MAX_VARIANTS + 1)], f"from 1 to {MAX_VARIANTS}, got 501"),
    ],
)
def test_variants_validation_cli(tmp_path, capsys, extra, message):
    out = tmp_path / "q.xml"
    assert _cli(tmp_path, "--to", "moodle", "-o", str(out), *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: assignment export: ") and message in err
    assert not out.exists()


def test_cli_refuses_variants_for_another_platform(tmp_path, capsys):
    out = tmp_path / "qs"
    assert _cli(tmp_path, "--to", "prairielearn", "-o", str(out), "--variants", "3") == 2
    assert "--variants applies to --to moodle only" in capsys.readouterr().err


def test_cli_missing_folder(tmp_path, capsys):
    out = tmp_path / "nowhere" / "q.xml"
    assert _cli(tmp_path, "--to", "moodle", "-o", str(out), "--variants", "1") == 2
    assert "folder" in capsys.readouterr().err and not out.exists()


def test_cli_writes_the_file(tmp_path, capsys):
    out = tmp_path / "q.xml"
    assert _cli(tmp_path, "--to", "moodle", "-o", str(out), "--variants", "2") == 0
    assert f"exported for moodle: {out}" in capsys.readouterr().out
    assert [len(items) for _, items in _questions(out.read_bytes())] == [2, 2, 2, 2]


# ------------------------------------------------------------------ Moodle's own Cloze grammar
# The patterns of Moodle's qtype_multianswer (question/type/multianswer/questiontype.php),
# transcribed for Python's re (its lookbehinds split into fixed-width ones): a second reading
# of every blank, the way Moodle's import splits it.
_M_FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
_M_ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
_M_FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
_M_ALT = f"({_M_FRACTION})?({_M_ANSWER})(#({_M_FEEDBACK}))?"
_M_TYPES = (
    "NUMERICAL|NM|MULTICHOICE|MC|MULTICHOICE_V|MCV|MULTICHOICE_H|MCH|SHORTANSWER|SA|MW|"
    "SHORTANSWER_C|SAC|MWC|MULTICHOICE_S|MCS|MULTICHOICE_VS|MCVS|MULTICHOICE_HS|MCHS|"
    "MULTIRESPONSE|MR|MULTIRESPONSE_H|MRH|MULTIRESPONSE_S|MRS|MULTIRESPONSE_HS|MRHS"
)
_M_BLANK = re.compile(r"\{([0-9]*):(" + _M_TYPES + "):(" + _M_ALT + "(~" + _M_ALT + ")*)\\}", re.S)
_M_NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
_M_NUMERICAL = re.compile(f"^({_M_NUMBER})(:{_M_NUMBER})?$", re.S)


def moodle_blanks(text):
    """``[(weight, type, [(fraction, answer, tolerance, feedback)])]`` as Moodle's import reads
    the question text: each blank found, split into its answers, then replaced."""
    out = []
    while True:
        m = _M_BLANK.search(text)
        if not m:
            return out
        rest, alts = m.group(3), []
        while rest:
            am = re.match("~?" + _M_ALT, rest, re.S)
            fraction = 1 if am.group(1) == "=" else float(am.group(2) or 0) / 100
            feedback = html.unescape(am.group(5) or "").replace("\\}", "}").replace("\\#", "#")
            nm = _M_NUMERICAL.match(am.group(3))
            if nm:
                answer, tol = float(nm.group(1)), float(nm.group(6)[1:] if nm.group(6) else 0)
            else:
                answer, tol = am.group(3), None
            alts.append((fraction, answer, tol, feedback))
            rest = rest[am.end() :]
        out.append((int(m.group(1) or 1), m.group(2), alts))
        text = text[: m.start()] + "{#" + str(len(out)) + "}" + text[m.end() :]


def test_moodle_grammar_reads_what_the_parser_here_reads(exported):
    a, _, data = exported
    for qid, comment, question in _variants(a, data):
        text, _ = _html(question)
        ours, moodle = read_blanks(text), moodle_blanks(text)
        assert len(moodle) == len(ours)
        for (w, alts), (mw, kind, malts) in zip(ours, moodle):
            assert (mw, kind) == (w, "NUMERICAL")
            assert len(malts) == len(alts)
            for (frac, value, tol, fb), (mfrac, manswer, mtol, mfb) in zip(alts, malts):
                assert mfrac == float(frac) / 100 and mfb == fb
                if value is None:
                    assert (manswer, mtol) == ("*", None)
                else:
                    assert (manswer, mtol) == (float(value), float(tol))


def test_variants_accepts_numpy_integers(tmp_path):
    export_moodle(A, tmp_path / "q.xml", variants=np.int64(1))
    assert [len(items) for _, items in _questions((tmp_path / "q.xml").read_bytes())] == [1] * 4
