"""The PrairieLearn export: question folders laid out as PrairieLearn documents them, server.py
run with symconv importable from the vendored copy only, graded with data dicts shaped as
PrairieLearn passes them (after pl-matrix-component-input parsed its cells).

Oracles: the answers are recomputed here with plain loops over Python integers and Fractions
(forward and backward convolution, average pooling, the output-size formula), and the
mistakes are made by those loops (a rotated kernel, a sign, a forgotten bias, a slip)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import uuid
import zipfile
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest

from symconv.assignment import load
from symconv.assignment.export import export
from symconv.assignment.export.prairielearn import slug
from symconv.assignment.export.prairielearn_server import grid_shape, layout_text
from symconv.cli import main

REPO = Path(__file__).resolve().parents[1]
SEED = "pl-test-secret-4b1d"
ASSIGNMENT = {
    "title": "Exam 2: convolution gradients",
    "course": "Deep learning",
    "seed": SEED,
    "questions": [
        {
            "id": "q1",
            "points": 4,
            "prompt": "Compute the output {not a mustache {{tag}}} & read $y_{11}$ first.",
            "layer": {
                "kind": "conv",
                "input_size": {"choice": [[4, 4], [5, 5]]},
                "kernel_size": {"choice": [2, 3]},
                "stride": {"range": [1, 2]},
                "padding": {"choice": [0, 1]},
            },
            "quantities": ["output"],
            "givens": {"x": {"range": [-2, 3]}, "w": {"range": [-2, 2], "exclude_zero": True}},
            "constraints": {"min_output_size": 2},
            "figure": True,
        },
        {
            "id": "q2",
            "points": 6,
            "layer": {
                "kind": "conv",
                "input_size": [4, 4],
                "kernel_size": 2,
                "stride": {"choice": [1, 2]},
            },
            "quantities": ["grad-input", "grad-weight"],
            "givens": {"dy": {"range": [-2, 2]}},
            "constraints": {"no_zero_answer": True},
        },
        {
            "id": "q3",
            "points": 2,
            "layer": {"kind": "avg_pool", "input_size": [4, 4], "kernel_size": {"choice": [2, 3]}},
            "quantities": ["grad-input"],
            "givens": {"dy": {"range": [1, 4]}},
            "credit": "all-or-nothing",
        },
        {
            "id": "q4",
            "layer": {
                "kind": "conv",
                "input_size": [3, 3],
                "kernel_size": 2,
                "in_channels": 2,
                "out_channels": 2,
                "bias": True,
            },
            "quantities": ["output", "grad-bias"],
            "givens": {"b": {"range": [1, 3]}, "dy": {"range": [-2, 2]}},
        },
        {
            "id": "q5",
            "layer": {
                "kind": "conv",
                "input_size": {"choice": [[7, 9], [8, 8]]},
                "kernel_size": 3,
                "stride": {"range": [1, 3]},
                "dilation": {"choice": [1, 2]},
            },
            "quantities": ["output-size"],
        },
    ],
}
SEEDS = (3, 11, 29, 404, 2024, 77777)

# -- independent oracles: loops over Python ints and Fractions ------------------------------


def _opt(opts, key, default):
    v = opts.get(key, default)
    return tuple(v) if isinstance(v, list) else (v, v)


def _pad(x, p):
    """x[c][i][j] with p zeros on every side."""
    out = []
    for plane in x:
        w = len(plane[0]) + 2 * p
        rows = [[0] * w for _ in range(p)]
        rows += [[0] * p + list(r) + [0] * p for r in plane]
        rows += [[0] * w for _ in range(p)]
        out.append(rows)
    return out


def conv_forward(x, w, b, s, p):
    xp = _pad(x, p)
    cout, cin, kh, kw = len(w), len(w[0]), len(w[0][0]), len(w[0][0][0])
    oh = (len(xp[0]) - kh) // s + 1
    ow = (len(xp[0][0]) - kw) // s + 1
    return [
        [
            [
                (b[o] if b else 0)
                + sum(
                    xp[c][i * s + u][j * s + v] * w[o][c][u][v]
                    for c in range(cin)
                    for u in range(kh)
                    for v in range(kw)
                )
                for j in range(ow)
            ]
            for i in range(oh)
        ]
        for o in range(cout)
    ]


def conv_grad_input(dy, w, s, p, shape):
    cin, h, wd = shape
    kh, kw = len(w[0][0]), len(w[0][0][0])
    g = [[[0] * (wd + 2 * p) for _ in range(h + 2 * p)] for _ in range(cin)]
    for o, plane in enumerate(dy):
        for i, row in enumerate(plane):
            for j, d in enumerate(row):
                for c in range(cin):
                    for u in range(kh):
                        for v in range(kw):
                            g[c][i * s + u][j * s + v] += d * w[o][c][u][v]
    return [[r[p : p + wd] for r in plane[p : p + h]] for plane in g]


def conv_grad_weight(dy, x, s, p, kh, kw):
    xp = _pad(x, p)
    return [
        [
            [
                [
                    sum(
                        dy[o][i][j] * xp[c][i * s + u][j * s + v]
                        for i in range(len(dy[o]))
                        for j in range(len(dy[o][0]))
                    )
                    for v in range(kw)
                ]
                for u in range(kh)
            ]
            for c in range(len(x))
        ]
        for o in range(len(dy))
    ]


def avg_pool_grad_input(dy, k, s, shape):
    c_n, h, wd = shape
    g = [[[Fraction(0)] * wd for _ in range(h)] for _ in range(c_n)]
    for c, plane in enumerate(dy):
        for i, row in enumerate(plane):
            for j, d in enumerate(row):
                for u in range(k):
                    for v in range(k):
                        g[c][i * s + u][j * s + v] += Fraction(d, k * k)
    return g


def output_size(opts):
    n = opts["input_size"]
    k, _ = _opt(opts, "kernel_size", 1)
    s, _ = _opt(opts, "stride", 1)
    p, _ = _opt(opts, "padding", 0)
    d, _ = _opt(opts, "dilation", 1)
    return [(m + 2 * p - d * (k - 1) - 1) // s + 1 for m in n]


def zeros_w(opts):
    """A weight of the layer's shape (the answers that do not need w do not read it)."""
    k, _ = _opt(opts, "kernel_size", 1)
    cin, cout = opts.get("in_channels", 1), opts.get("out_channels", 1)
    return [[[[0] * k for _ in range(k)] for _ in range(cin)] for _ in range(cout)]


def expected(qid, params):
    """The right answers of a variant, from the numbers the student is shown."""
    o, g = params["layer_options"], params["given_values"]
    s, _ = _opt(o, "stride", 1)
    p, _ = _opt(o, "padding", 0)
    if qid == "q1":
        return {"q1": conv_forward(g["x"], g["w"], None, s, p)}
    if qid == "q2":
        k, _ = _opt(o, "kernel_size", 1)
        return {
            "q2_grad_input": conv_grad_input(g["dy"], g["w"], s, p, (1, 4, 4)),
            "q2_grad_weight": conv_grad_weight(g["dy"], g["x"], s, p, k, k),
        }
    if qid == "q3":
        k, _ = _opt(o, "kernel_size", 1)
        s, _ = _opt(o, "stride", k)
        return {"q3": avg_pool_grad_input(g["dy"], k, s, (1, 4, 4))}
    if qid == "q4":
        dy = g["dy"]
        return {
            "q4_output": conv_forward(g["x"], g["w"], g["b"], 1, 0),
            "q4_grad_bias": [sum(sum(r) for r in plane) for plane in dy],
        }
    return {"q5": output_size(o)}


def mistake(qid, params):
    """``{name: (wrong answer, the diagnosis code it must get)}``: one mistake per question."""
    o, g = params["layer_options"], params["given_values"]
    s, _ = _opt(o, "stride", 1)
    p, _ = _opt(o, "padding", 0)
    right = expected(qid, params)
    if qid == "q1":
        rotated = [[[row[::-1] for row in plane[::-1]] for plane in f] for f in g["w"]]
        return {"q1": (conv_forward(g["x"], rotated, None, s, p), "flipped-kernel")}
    if qid == "q2":
        neg = [[[-v for v in row] for row in plane] for plane in right["q2_grad_input"]]
        return {"q2_grad_input": (neg, "sign")}
    if qid == "q3":
        slip = copy.deepcopy(right["q3"])
        slip[0][1][2] += 1
        return {"q3": (slip, "arithmetic-slip")}
    if qid == "q4":
        return {"q4_output": (conv_forward(g["x"], g["w"], None, 1, 0), "missing-bias")}
    return {"q5": ([n + 1 for n in right["q5"]], "index-shift")}


def flat(a):
    if isinstance(a, list):
        return [v for u in a for v in flat(u)]
    return [a]


def cell_text(v) -> str:
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


# -- PrairieLearn's side ---------------------------------------------------------------------

DRIVER = r"""
import importlib.util, json, os, sys, traceback
out, folders = sys.argv[1], sys.argv[2:]
# the vendored copy comes first, so it shadows any installed symconv (editable or not) while
# NumPy and SymPy still come from site-packages; the test asserts which file was imported
sys.path = [os.path.join(out, "serverFilesCourse")] + [p for p in sys.path if p]
sys.modules["jinja2"] = None  # PrairieLearn's runtime guarantees NumPy and SymPy, not these
sys.modules["black"] = None
servers = {}
for folder in folders:
    spec = importlib.util.spec_from_file_location(
        "server_" + os.path.basename(folder), os.path.join(folder, "server.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    servers[os.path.basename(folder)] = module
import symconv
print(json.dumps({"symconv": symconv.__file__}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        data = req["data"]
        getattr(servers[req["qid"]], req["fn"])(data)
        print(json.dumps({"data": data}), flush=True)
    except Exception:
        print(json.dumps({"error": traceback.format_exc()}), flush=True)
"""


class Server:
    """The exported server.py files, imported in a fresh Python whose path holds the vendored
    symconv and NumPy/SymPy, never the repository; one JSON request per line."""

    def __init__(self, out: Path, folders):
        script = out.parent / "pl_driver.py"
        script.write_text(DRIVER)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(script), str(out), *map(str, folders)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
        )
        self.symconv_file = json.loads(self.proc.stdout.readline())["symconv"]

    def call(self, qid, fn, data):
        self.proc.stdin.write(json.dumps({"qid": qid, "fn": fn, "data": data}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        assert "error" not in reply, reply.get("error")
        return reply["data"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def generate_data(seed):
    return {"params": {}, "correct_answers": {}, "variant_seed": seed, "options": {}}


def submission(gen, answers, raw_only=None):
    """The data dict of grade() after pl-matrix-component-input parsed the cells: the raw
    text of cell ``<name><k>`` in raw_submitted_answers, its float in submitted_answers and
    the whole matrix as pl.to_json writes an ndarray. ``raw_only`` cells are texts the
    element did not parse."""
    data = {
        "params": gen["params"],
        "correct_answers": gen["correct_answers"],
        "submitted_answers": {},
        "raw_submitted_answers": {},
        "format_errors": {},
        "partial_scores": {},
        "score": 0,
        "feedback": {},
        "variant_seed": gen["variant_seed"],
        "options": {},
    }
    for name, grid in gen["correct_answers"].items():
        texts = [cell_text(v) for v in flat(answers[name])]
        n = len(grid[0])
        for k, text in enumerate(texts, start=1):
            data["raw_submitted_answers"][f"{name}{k}"] = text
            data["submitted_answers"][f"{name}{k}"] = float(Fraction(text))
        rows = [[float(Fraction(t)) for t in texts[i : i + n]] for i in range(0, len(texts), n)]
        data["submitted_answers"][name] = {"_type": "ndarray", "_value": rows, "_dtype": "float64"}
    for cell, text in (raw_only or {}).items():
        data["raw_submitted_answers"][cell] = text
        data["submitted_answers"][cell] = text
    return data


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("pl")
    a = load(ASSIGNMENT)
    out = export(a, "prairielearn", root / "pl")
    again = export(load(copy.deepcopy(ASSIGNMENT)), "prairielearn", root / "pl-again")
    folders = sorted((out / "questions").glob("*/*"))
    server = Server(out, folders)
    yield {"out": out, "again": again, "folders": folders, "server": server}
    server.close()


def _files(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_layout_and_byte_identical(exported):
    out = exported["out"]
    assert [f.relative_to(out).as_posix() for f in exported["folders"]] == [
        f"questions/exam-2-convolution-gradients/q{i}" for i in range(1, 6)
    ]
    for f in exported["folders"]:
        assert sorted(p.name for p in f.iterdir() if p.name != "clientFilesQuestion") == [
            "info.json",
            "question.html",
            "server.py",
            "symconv-question.json",
        ]
    assert (out / "serverFilesCourse/symconv/__init__.py").is_file()
    assert (out / "serverFilesCourse/symconv/templates/prairielearn/server.py.jinja").is_file()
    assert not list(out.rglob("__pycache__"))
    first, second = _files(out), _files(exported["again"])
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_info_json(exported):
    seen = set()
    for folder in exported["folders"]:
        info = json.loads((folder / "info.json").read_text())
        for field, kind in (("uuid", str), ("title", str), ("topic", str), ("tags", list)):
            assert isinstance(info[field], kind) and info[field], field
        assert info["type"] == "v3"
        assert str(uuid.UUID(info["uuid"])) == info["uuid"]
        assert info["uuid"] not in seen
        seen.add(info["uuid"])
        assert all(isinstance(t, str) for t in info["tags"]) and "symconv" in info["tags"]
        assert info.get("partialCredit", True) is (folder.name != "q3")
    other = dict(copy.deepcopy(ASSIGNMENT), seed="another-seed")
    moved = export(load(other), "prairielearn", exported["out"].parent / "pl-other-seed")
    for folder in exported["folders"]:
        again = json.loads(
            (exported["again"] / folder.relative_to(exported["out"]) / "info.json").read_text()
        )
        new = json.loads((moved / folder.relative_to(exported["out"]) / "info.json").read_text())
        assert again["uuid"] == json.loads((folder / "info.json").read_text())["uuid"]
        assert new["uuid"] != again["uuid"]


def test_figures(exported):
    """q1 asks for a figure: one SVG per layer of its template, the variant's named in params."""
    q1 = exported["folders"][0]
    layers = json.loads((q1 / "symconv-question.json").read_text())["question"]["layers"]
    files = sorted(p.name for p in (q1 / "clientFilesQuestion").iterdir())
    allowed = [
        (n, k, st, pad)
        for n in (4, 5)
        for k in (2, 3)
        for st in (1, 2)
        for pad in (0, 1)
        if (n + 2 * pad - k) // st + 1 >= 2  # min_output_size
    ]
    assert len(files) == len(layers) == len(allowed) == 15
    for name in files:
        root = ElementTree.parse(q1 / "clientFilesQuestion" / name).getroot()
        assert root.tag.endswith("svg")
    for seed in SEEDS[:3]:
        params = exported["server"].call("q1", "generate", generate_data(seed))["params"]
        index = layers.index(params["layer_options"])
        assert params["figure"] == f"layer-{index + 1}.svg" and params["figure"] in files
    assert not (exported["folders"][1] / "clientFilesQuestion").exists()


def test_secret_seed_stays_server_side(exported):
    for path in exported["out"].rglob("*"):
        if path.suffix != ".svg" and "serverFilesCourse" not in path.parts and path.is_file():
            has = SEED in path.read_text()
            assert has == (path.name == "symconv-question.json"), path


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names, self.stack = [], []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)
        if tag == "pl-matrix-component-input":
            self.names.append(dict(attrs))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()


def test_question_html_names_the_answers(exported):
    server = exported["server"]
    for folder in exported["folders"]:
        text = (folder / "question.html").read_text()
        parser = _Inputs()
        parser.feed(text)
        parser.close()
        assert parser.stack == []
        gen = server.call(folder.name, "generate", generate_data(5))
        names = [a["answers-name"] for a in parser.names]
        assert sorted(names) == sorted(gen["correct_answers"]) and len(set(names)) == len(names)
        for a in parser.names:
            assert a["allow-partial-credit"] == ("false" if folder.name == "q3" else "true")
        for ref in re.findall(r"\{\{\{?[#/]?params\.(\w+)", text):
            assert ref in gen["params"], ref
        if folder.name == "q1":  # the teacher's braces are not Mustache tags
            assert "{{tag}}" not in text and "&#123;&#123;tag&#125;&#125;" in text


@pytest.mark.parametrize("qid", ["q1", "q2", "q3", "q4", "q5"])
def test_generate_and_grade(exported, qid):
    server = exported["server"]
    diagnosed = 0
    keys = set()
    for seed in SEEDS:
        gen = server.call(qid, "generate", generate_data(seed))
        assert gen == server.call(qid, "generate", generate_data(seed))  # same seed, same data
        drawn = [gen["params"]["layer_options"], gen["params"]["given_values"]]
        keys.add(json.dumps(drawn, sort_keys=True))
        right = expected(qid, gen["params"])
        assert sorted(right) == sorted(gen["correct_answers"])
        for name, grid in gen["correct_answers"].items():
            assert [Fraction(v).limit_denominator(1000) for v in flat(grid)] == flat(right[name])
        graded = server.call(qid, "grade", submission(gen, right))
        assert graded["score"] == 1.0 and graded["format_errors"] == {}
        for name in right:
            assert graded["partial_scores"][name]["score"] == 1.0
            assert graded["feedback"][name] == "Correct."
        for name, (wrong, code) in mistake(qid, gen["params"]).items():
            if flat(wrong) == flat(right[name]):
                continue  # the mistake changes nothing on this variant
            answers = dict(right, **{name: wrong})
            graded = server.call(qid, "grade", submission(gen, answers))
            part = graded["partial_scores"][name]
            assert graded["score"] < 1 and part["score"] < 1
            assert code in graded["feedback"][name], graded["feedback"][name]
            marks = part["feedback"]
            assert list(marks) == [f"{name}{k}" for k in range(1, len(flat(wrong)) + 1)]
            assert [m == "incorrect" for m in marks.values()] == [
                u != v for u, v in zip(flat(wrong), flat(right[name]))
            ]
            if qid == "q3":  # all or nothing
                assert graded["score"] == 0 and part["score"] == 0
            else:
                others = [graded["partial_scores"][n]["score"] for n in right if n != name]
                assert graded["score"] == pytest.approx((part["score"] + sum(others)) / len(right))
            diagnosed += 1
    assert diagnosed >= 3
    assert len(keys) > 1


def test_parsed_values_without_raw_text(exported):
    """Without raw_submitted_answers the element's parsed floats are graded (3.0 is 3)."""
    server = exported["server"]
    gen = server.call("q2", "generate", generate_data(12))
    data = submission(gen, expected("q2", gen["params"]))
    del data["raw_submitted_answers"]
    assert server.call("q2", "grade", data)["score"] == 1.0


def test_malformed_entries_are_format_errors(exported):
    server = exported["server"]
    gen = server.call("q1", "generate", generate_data(8))
    right = expected("q1", gen["params"])
    for bad in ("abc", "1_000", "2 3", "x11", ""):
        data = submission(gen, right, raw_only={"q12": bad})
        parsed = server.call("q1", "parse", copy.deepcopy(data))
        assert set(parsed["format_errors"]) == {"q1", "q12"}, bad
        assert "row 1, column 2" in parsed["format_errors"]["q1"]
        graded = server.call("q1", "grade", data)
        assert set(graded["format_errors"]) == {"q1", "q12"}
        assert graded["partial_scores"]["q1"]["score"] == 0
    missing = submission(gen, right)
    del missing["raw_submitted_answers"]["q13"], missing["submitted_answers"]["q13"]
    assert "q13" in server.call("q1", "parse", missing)["format_errors"]
    # the element's own format error is left as it is
    flagged = submission(gen, right)
    flagged["format_errors"] = {"q1": "from the element"}
    assert server.call("q1", "parse", flagged)["format_errors"] == {"q1": "from the element"}


def test_fractions_and_decimals_are_exact(exported):
    server = exported["server"]
    quarters = 0
    for seed in SEEDS:  # a decimal that is the exact value is right
        gen = server.call("q3", "generate", generate_data(seed))
        right = expected("q3", gen["params"])
        values = flat(right["q3"])
        if not any(Fraction(v).denominator == 4 for v in values):
            continue
        data = submission(gen, right)
        for k, v in enumerate(values, start=1):
            if Fraction(v).denominator == 4:
                data["raw_submitted_answers"][f"q3{k}"] = f"{float(v):.2f}"
        assert server.call("q3", "grade", data)["score"] == 1.0
        quarters += 1
    assert quarters
    for seed in SEEDS:
        gen = server.call("q3", "generate", generate_data(seed))
        right = expected("q3", gen["params"])
        if all(Fraction(v).denominator in (1, 2, 4, 5) for v in flat(right["q3"])):
            continue
        data = submission(gen, right)
        k = next(i for i, v in enumerate(flat(right["q3"]), 1) if Fraction(v).denominator == 9)
        data["raw_submitted_answers"][f"q3{k}"] = str(float(flat(right["q3"])[k - 1]))
        graded = server.call("q3", "grade", data)
        assert graded["score"] == 0  # 0.111... is not 1/9
        assert graded["partial_scores"]["q3"]["feedback"][f"q3{k}"] == "incorrect"
        return
    pytest.fail("no variant with ninths among the seeds")


def test_vendored_copy_is_what_server_py_imports(exported):
    assert Path(exported["server"].symconv_file).is_relative_to(exported["out"])


def test_cli(tmp_path, capsys):
    src = tmp_path / "A.json"
    src.write_text(json.dumps(ASSIGNMENT))
    assert (
        main(["assignment", "export", str(src), "--to", "prairielearn", "-o", str(tmp_path / "o")])
        == 0
    )
    assert "exported for prairielearn" in capsys.readouterr().out
    assert (tmp_path / "o/questions/exam-2-convolution-gradients/q2/server.py").is_file()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert (
        main(["assignment", "export", str(src), "--to", "prairielearn", "-o", str(foreign)]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not written by symconv" in err
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    wrong = ["assignment", "export", str(src), "--to", "prairielearn", "--variants", "3"]
    assert main(wrong + ["-o", str(tmp_path / "p")]) == 2
    assert "--variants applies to --to moodle only" in capsys.readouterr().err


def test_export_from_the_installed_wheel(tmp_path):
    """An installed symconv (the wheel unpacked, run from another folder) writes the same
    export as the repository: its templates ship, and so does everything server.py imports."""
    pytest.importorskip("hatchling")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        + ["-w", str(tmp_path / "dist"), str(REPO)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    site = tmp_path / "site"
    with zipfile.ZipFile(next((tmp_path / "dist").glob("symconv-*.whl"))) as zf:
        zf.extractall(site)
    src = tmp_path / "A.json"
    src.write_text(json.dumps(ASSIGNMENT))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import sys; sys.path = [p for p in sys.path if p and p != sys.argv[1]]; "
        "sys.path.insert(0, sys.argv[1]); from symconv.cli import main; "
        "raise SystemExit(main(sys.argv[2:]))"
    )
    args = ["assignment", "export", str(src), "--to", "prairielearn", "-o", "pl"]
    proc = subprocess.run(
        [sys.executable, "-I", "-B", "-c", code, str(site), *args],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    from_repo = export(load(src), "prairielearn", tmp_path / "from-repo")
    installed, repo = _files(elsewhere / "pl"), _files(from_repo)
    assert installed.keys() == repo.keys()
    assert [k for k in installed if installed[k] != repo[k]] == []


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Exam 2: convolution gradients", "exam-2-convolution-gradients"),
        ("Übung 3 — Faltung & Pooling", "ubung-3-faltung-pooling"),
        ("Homework 3: gradients of convolution and pooling layers", "homework-3-gradients-of"),
        ("Supercalifragilisticexpialidocious-and-more-words", "supercalifragilisticexpialidocio"),
        ("卷积", "assignment"),
    ],
)
def test_slug(title, expected):
    assert slug(title) == expected


@pytest.mark.parametrize(
    "shape, grid, layout",
    [
        ((1, 3, 3), (3, 3), ""),
        (
            (2, 2, 3),
            (4, 3),
            "2 blocks of 2 x 3 stacked top to bottom (rows 1-2: [1]; rows 3-4: [2])",
        ),
        ((2,), (1, 2), "one row"),
        ((3, 5), (3, 5), ""),
        (
            (2, 1, 2, 2),
            (4, 2),
            "2 blocks of 2 x 2 stacked top to bottom (rows 1-2: [1,1]; rows 3-4: [2,1])",
        ),
    ],
)
def test_grid_layout(shape, grid, layout):
    assert grid_shape(shape) == grid
    assert layout_text(shape) == layout
