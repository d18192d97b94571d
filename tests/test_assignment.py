"""symconv.assignment: assignment files (validation errors name the question and the field),
per-student variants (deterministic, independent of the roster, distinct), the exact answers
(checked against independent loops over Fractions), and byte-identical `make` outputs."""

from __future__ import annotations

import copy
import filecmp
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from symconv import assignment
from symconv.assignment.variants import HashDraw
from symconv.core.errors import SpecError

BASE = {
    "title": "T",
    "seed": "secret",
    "questions": [
        {
            "id": "q1",
            "points": 3,
            "layer": {
                "kind": "conv",
                "input_size": {"choice": [[4, 4], [5, 5]]},
                "kernel_size": 2,
                "stride": {"range": [1, 2]},
            },
            "quantities": ["output"],
            "givens": {"x": {"range": [-3, 3]}, "w": {"range": [-2, 2], "exclude_zero": True}},
        },
        {
            "id": "q2",
            "points": 2,
            "layer": {"kind": "conv", "input_size": [4, 4], "kernel_size": 2, "bias": True},
            "quantities": ["grad-input", "grad-weight", "grad-bias"],
            "givens": {"dy": {"range": [-2, 2], "max_nonzeros": 3}},
        },
    ],
}


def _with(path, value):
    data = copy.deepcopy(BASE)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


# ------------------------------------------------------------------ independent oracles
def conv_out(x, w, stride, pad, bias=0):
    """2-D cross-correlation over Fractions, by loops (no symconv)."""
    H, W = len(x), len(x[0])
    k = len(w)
    xp = [[0] * (W + 2 * pad) for _ in range(H + 2 * pad)]
    for i in range(H):
        for j in range(W):
            xp[i + pad][j + pad] = x[i][j]
    oh = (H + 2 * pad - k) // stride + 1
    ow = (W + 2 * pad - k) // stride + 1
    return [
        [
            bias
            + sum(
                Fraction(w[a][b]) * xp[i * stride + a][j * stride + b]
                for a in range(k)
                for b in range(k)
            )
            for j in range(ow)
        ]
        for i in range(oh)
    ]


def grads(x, w, dy, stride=1):
    """dE/dx, dE/dw, dE/db of a 2-D cross-correlation (no padding), by loops."""
    H, W, k = len(x), len(x[0]), len(w)
    dx = [[Fraction(0)] * W for _ in range(H)]
    dw = [[Fraction(0)] * k for _ in range(k)]
    for i in range(len(dy)):
        for j in range(len(dy[0])):
            for a in range(k):
                for b in range(k):
                    dx[i * stride + a][j * stride + b] += w[a][b] * dy[i][j]
                    dw[a][b] += x[i * stride + a][j * stride + b] * dy[i][j]
    db = sum(Fraction(v) for row in dy for v in row)
    return dx, dw, db


# ------------------------------------------------------------------ file validation
@pytest.mark.parametrize(
    "path, value, words",
    [
        (("colour",), "red", ["unknown key", "colour"]),
        (("questions", 0, "hint"), "x", ["question q1", "unknown key", "hint"]),
        (("questions", 1, "givens", "dy", "max"), 3, ["question q2", "givens.dy", "max"]),
        (("questions", 0, "layer", "kernel_size"), 9, ["question q1", "layer", "valid layer"]),
        (("questions", 0, "layer", "stride"), {"range": [3, 1]}, ["question q1", "layer.stride"]),
        (("questions", 0, "credit"), "some", ["question q1", "credit"]),
        (("questions", 1, "quantities"), ["gradient"], ["question q2", "quantities"]),
        (
            ("questions", 0, "constraints"),
            {"min_output_size": 9},
            ["question q1", "min_output_size"],
        ),
        (
            ("questions", 0, "constraints"),
            {"max_abs_answer": 0, "no_zero_answer": True},
            ["question q1", "constraints."],
        ),
        (("questions", 1, "id"), "q1", ["question q1", "id", "unique"]),
        (("seed",), "", ["seed"]),
    ],
)
def test_bad_files_name_question_and_field(path, value, words):
    with pytest.raises(SpecError) as err:
        assignment.load(_with(path, value))
    msg = str(err.value)
    assert msg.startswith("assignment: ")
    for w in words:
        assert w in msg, msg


def test_bad_json_file(tmp_path):
    p = tmp_path / "a.json"
    p.write_text("{not json")
    with pytest.raises(SpecError, match="not valid JSON"):
        assignment.load(p)


# ------------------------------------------------------------------ variants
def test_hash_draw_is_uniform_and_deterministic():
    d1, d2 = HashDraw("k", 1), HashDraw("k", 1)
    a = [d1.below(7) for _ in range(7000)]
    assert a == [d2.below(7) for _ in range(7000)]
    counts = np.bincount(a, minlength=7)
    assert counts.min() > 850 and counts.max() < 1150  # 1000 expected each
    assert [HashDraw("k", 2).below(7) for _ in range(50)] != a[:50]


def test_variant_answers_match_independent_loops():
    a = assignment.load(BASE)
    for sid in [f"u{i}" for i in range(15)]:
        v = assignment.variant(a, sid)
        q1, q2 = v.questions
        x = q1.givens["x"][0].tolist()
        w = q1.givens["w"][0, 0].tolist()
        stride = q1.layer.spec.stride[0]
        assert q1.answers["output"][0].tolist() == conv_out(x, w, stride, 0)
        # q2: only dy and w given for dE/dx, x for dE/dw? x is not needed unless asked
        dy = q2.givens["dy"][0].tolist()
        assert sum(1 for r in dy for e in r if e != 0) <= 3
        w2 = q2.givens["w"][0, 0].tolist()
        x2 = q2.givens["x"][0].tolist()
        dx, dw, db = grads(x2, w2, dy)
        assert q2.answers["grad-input"][0].tolist() == dx
        assert q2.answers["grad-weight"][0, 0].tolist() == dw
        assert q2.answers["grad-bias"].tolist() == [db]
        assert sorted(q2.givens) == ["dy", "w", "x"]  # b is not needed for gradients


@pytest.mark.parametrize(
    "layer, quantities, given",
    [
        ({"kind": "conv", "bias": True}, ["grad-input"], ["dy", "w"]),
        ({"kind": "conv", "bias": True}, ["output"], ["b", "w", "x"]),
        ({"kind": "conv"}, ["grad-weight"], ["dy", "x"]),
        ({"kind": "max_pool"}, ["grad-input"], ["dy", "x"]),
        ({"kind": "avg_pool"}, ["grad-input"], ["dy"]),
        ({"kind": "conv"}, ["output-size"], []),
    ],
)
def test_only_needed_values_are_given(layer, quantities, given):
    data = copy.deepcopy(BASE)
    data["questions"] = [
        {
            "id": "q",
            "layer": dict(layer, input_size=[4, 4], kernel_size=2),
            "quantities": quantities,
        }
    ]
    v = assignment.variant(assignment.load(data), "s").questions[0]
    assert sorted(v.givens) == given


def test_deterministic_and_independent_of_roster():
    a = assignment.load(BASE)
    v1 = assignment.variant(a, "alice").answer_key()
    assert assignment.variant(a, "alice").answer_key() == v1
    assert assignment.variant(assignment.load(BASE), "alice").answer_key() == v1
    other_seed = assignment.load(_with(("seed",), "other"))
    assert assignment.variant(other_seed, "alice").answer_key() != v1
    keys = {
        json.dumps(assignment.variant(a, f"s{i}").answer_key()["questions"]) for i in range(40)
    }
    assert len(keys) == 40


def _tree(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_make_byte_identical_and_adding_a_student_changes_no_one(tmp_path):
    a = assignment.load(BASE)
    roster = tmp_path / "r.csv"
    roster.write_text("id,name\n" + "".join(f"s{i},N{i}\n" for i in range(12)))
    assignment.make(a, roster, tmp_path / "o1", jobs=1)
    assignment.make(a, roster, tmp_path / "o2", jobs=2)
    t1, t2 = _tree(tmp_path / "o1"), _tree(tmp_path / "o2")
    assert t1 == t2
    roster.write_text(roster.read_text() + "new1,Newcomer\n")
    assignment.make(a, roster, tmp_path / "o3", jobs=1)
    t3 = _tree(tmp_path / "o3")
    for name, data in t1.items():
        if name.startswith(("handouts/", "keys/", "submissions/")):
            assert t3[name] == data, name
    assert "keys/new1.json" in t3
    # different students, different givens
    givens = {json.dumps(json.loads(t1[f"keys/s{i}.json"])["questions"]) for i in range(12)}
    assert len(givens) == 12
    # handouts never hold answers: the key's answer matrices are absent from them
    key = json.loads(t1["keys/s0.json"])
    handout = t1["handouts/s0.tex"].decode()
    assert "answer key" not in handout and "answer key" in t1["keys/s0.tex"].decode()
    assert "bmatrix" in handout and handout.count("grid") >= 4
    assert key["questions"]["q1"]["answers"]["q1"]


def test_make_refuses_a_foreign_folder_and_leaves_it(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(SpecError, match="not written by symconv"):
        assignment.make(assignment.load(BASE), ["a", "b"], out)
    assert (out / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_too_few_variants_is_said(tmp_path):
    data = _with(("questions", 0, "givens"), {"x": {"range": [1, 1]}, "w": {"range": [1, 1]}})
    data["questions"] = data["questions"][:1]
    data["questions"][0]["layer"] = {"kind": "conv", "input_size": [3, 3], "kernel_size": 2}
    a = assignment.load(data)
    assert assignment.variant_count(a) == 1
    s = assignment.make(a, ["a", "b", "c"], tmp_path / "o")
    assert "only 1 different variant(s) for 3 students" in s["notes"][0]
    assert s["shared"] == [["a", "b"], ["a", "c"]]


def test_roster_errors(tmp_path):
    r = tmp_path / "r.csv"
    r.write_text("sid,name\n1,A\n")
    with pytest.raises(SpecError, match="id column must be one of"):
        assignment.read_roster(r)
    assert assignment.read_roster(r, "sid").ids == ["1"]
    r.write_text("id\n../evil\n")
    with pytest.raises(SpecError, match="row 2"):
        assignment.read_roster(r)
    r.write_text("id\na\na\n")
    with pytest.raises(SpecError, match="appears twice"):
        assignment.read_roster(r)


def test_docs_schema_is_json_and_lists_every_key():
    import re

    from symconv.assignment import spec

    doc = (Path(__file__).resolve().parents[1] / "docs" / "ASSIGNMENT.md").read_text()
    schema = json.loads(re.search(r"## JSON schema\s+```json\n(.*?)```", doc, re.S).group(1))
    assert set(schema["properties"]) == spec._TOP_KEYS
    q = schema["$defs"]["question"]["properties"]
    assert set(q) == spec._QUESTION_KEYS
    assert set(q["constraints"]["properties"]) == spec._CONSTRAINT_KEYS
    assert set(schema["$defs"]["given"]["properties"]) == spec._GIVEN_KEYS
    example = Path(__file__).resolve().parents[1] / "examples" / "assignment" / "assignment.json"
    assert len(assignment.load(example).questions) == 3


@pytest.mark.parametrize(
    "text, answers, unknown",
    [
        (
            '{"student": "a", "q1": "1 2", "q2.output": [[1]], "q9": "3"}',
            {"q1": "1 2", "q2.output": [[1]]},
            ["q9"],
        ),
        ('{"q1": "", "q2.output": null}', {}, []),
        ("q1: 1 2\n3 4\nq2.output = [[5]]\n", {"q1": "1 2\n3 4", "q2.output": "[[5]]"}, []),
        (
            "% header\n\\textbf{q1:} $\\begin{bmatrix} 1 & 2 \\end{bmatrix}$\n",
            {"q1": "$\\begin{bmatrix} 1 & 2 \\end{bmatrix}$"},
            [],
        ),
        ("q1:\nx11 + w12\nx21*w11\nqq: 4\n", {"q1": "x11 + w12\nx21*w11"}, ["qq"]),
        ("# nothing labelled\n1 2 3\n", {}, []),
    ],
    ids=["json", "json-blank", "text", "latex", "symbols-and-unknown", "no-labels"],
)
def test_parse_submission(text, answers, unknown):
    from symconv.assignment.submissions import parse_submission

    got, issues = parse_submission(text, ["q1", "q2.output"])
    assert got == answers
    assert [i.label for i in issues] == unknown
    assert all(i.kind == "unknown-label" for i in issues)


def test_parse_submission_bad_json():
    from symconv.assignment.submissions import parse_submission
    from symconv.core.errors import AnswerError

    with pytest.raises(AnswerError, match="not valid JSON"):
        parse_submission('{"q1": ', ["q1"])
    assert parse_submission("{}", ["q1"]) == ({}, [])


def test_digest_names_the_content_not_the_layout(tmp_path):
    """A file and the dict it holds get the same digest, whatever the file's indentation, key
    order or way of writing a decimal; a changed value gets another."""
    data = _with(["questions", 0, "points"], 2.5)
    compact, spread = tmp_path / "a.json", tmp_path / "b.json"
    compact.write_text(json.dumps(data, separators=(",", ":")))
    spread.write_text(
        json.dumps(dict(reversed(list(data.items()))), indent=4).replace("2.5", "2.50")
    )
    digests = {assignment.load(source).digest for source in (data, compact, spread)}
    assert len(digests) == 1
    assert assignment.load(_with(["questions", 0, "points"], 3)).digest not in digests
    assert assignment.load(_with(["seed"], "other")).digest not in digests
