"""``symconv assignment export --to gradescope``: the autograder zip (layout, determinism, the
bundled wheel, an assignment file that draws the same variants) and the grading run inside
Gradescope's container, checked against Gradescope's documented results.json fields and
against scores and codes computed here by independent NumPy loops on the answer keys.

The acceptance test unpacks the zip into a temporary root laid out like ``/autograder``, runs
its ``setup.sh`` (a fresh venv; the bundled wheel; dependencies from PyPI or pip's cache) and
then ``run_autograder`` once per case, as Gradescope would."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from symconv import assignment
from symconv.assignment.export import export
from symconv.assignment.export import autograder
from symconv.assignment.export.gradescope import assignment_data, export_gradescope
from symconv.assignment.spec import load_assignment
from symconv.assignment.variants import draw_variant
from symconv.cli import main
from symconv.core.errors import SpecError

A = {
    "title": "Gradescope HW",
    "course": "Test course",
    "seed": "gs-secret-42",
    "questions": [
        {
            "id": "q1",
            "points": 4,
            "layer": {
                "kind": "conv",
                "input_size": {"choice": [[4, 4], [5, 5]]},
                "kernel_size": 2,
                "stride": {"range": [1, 2]},
                "padding": {"choice": [0, 1]},
            },
            "quantities": ["output"],
            "givens": {"x": {"range": [-3, 3]}, "w": {"range": [-2, 2], "exclude_zero": True}},
        },
        {
            "id": "q2",
            "points": 6,
            "layer": {"kind": "conv", "input_size": [4, 4], "kernel_size": 2},
            "quantities": ["grad-input", "grad-weight"],
            "givens": {"dy": {"range": [-2, 2], "exclude_zero": True}},
        },
        {
            "id": "q3",
            "points": 2,
            "layer": {"kind": "max_pool", "input_size": [4, 4], "kernel_size": 2},
            "quantities": ["grad-input"],
            "givens": {"x": {"range": [0, 20]}, "dy": {"range": [1, 4]}},
            "credit": "all-or-nothing",
        },
    ],
}
IDS = [f"s{i:02d}" for i in range(1, 13)]
TOTAL = 12
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
TOP_KEYS = {
    "score",
    "execution_time",
    "output",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
}
TEST_KEYS = {"score", "max_score", "name", "number", "output", "tags", "visibility", "extra_data"}


# ------------------------------------------------------------------ independent NumPy loops
def conv_out(x, w, stride, pad):
    x = np.pad(np.array(x, dtype=np.int64), pad)
    w = np.array(w, dtype=np.int64)
    k = w.shape[0]
    oh, ow = (x.shape[0] - k) // stride + 1, (x.shape[1] - k) // stride + 1
    y = np.zeros((oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            for a in range(k):
                for b in range(k):
                    y[i, j] += x[i * stride + a, j * stride + b] * w[a, b]
    return y


def conv_grads(x_shape, w, dy):
    w, dy = np.array(w, dtype=np.int64), np.array(dy, dtype=np.int64)
    dx = np.zeros(x_shape, dtype=np.int64)
    k = w.shape[0]
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            for a in range(k):
                for b in range(k):
                    dx[i + a, j + b] += w[a, b] * dy[i, j]
    return dx


def conv_grad_weight(x, w_shape, dy):
    x, dy = np.array(x, dtype=np.int64), np.array(dy, dtype=np.int64)
    dw = np.zeros(w_shape, dtype=np.int64)
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            for a in range(w_shape[0]):
                for b in range(w_shape[1]):
                    dw[a, b] += x[i + a, j + b] * dy[i, j]
    return dw


def maxpool_grad(x, dy, k, broadcast=False):
    """dE/dx of a k x k max pool of stride k (the first maximum in row-major order wins);
    ``broadcast``: the mistake of copying dE/dy to every entry of its window."""
    x, dy = np.array(x, dtype=np.int64), np.array(dy, dtype=np.int64)
    dx = np.zeros_like(x)
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            win = x[i * k : i * k + k, j * k : j * k + k]
            if broadcast:
                dx[i * k : i * k + k, j * k : j * k + k] += dy[i, j]
                continue
            a, b = divmod(int(np.argmax(win)), k)
            dx[i * k + a, j * k + b] += dy[i, j]
    return dx


def right_fraction(got, want) -> Fraction:
    got, want = np.asarray(got).reshape(-1), np.asarray(want).reshape(-1)
    return Fraction(int((got == want).sum()), want.size)


# ------------------------------------------------------------------ keys and cases
@pytest.fixture(scope="module")
def keys():
    a = assignment.load(A)
    out = {}
    for sid in IDS:
        key = assignment.variant(a, sid).answer_key()["questions"]
        q1, q2, q3 = key["q1"], key["q2"], key["q3"]
        # the keys themselves, against the loops
        x, w = q1["givens"]["x"][0], q1["givens"]["w"][0][0]
        y = conv_out(x, w, q1["layer"]["stride"], q1["layer"]["padding"])
        assert q1["answers"]["q1"][0] == y.tolist()
        w2, dy2 = q2["givens"]["w"][0][0], q2["givens"]["dy"][0]
        assert q2["answers"]["q2.grad-input"][0] == conv_grads((4, 4), w2, dy2).tolist()
        dw = conv_grad_weight(q2["givens"]["x"][0], (2, 2), dy2)
        assert q2["answers"]["q2.grad-weight"][0][0] == dw.tolist()
        dx3 = maxpool_grad(q3["givens"]["x"][0], q3["givens"]["dy"][0], 2)
        assert q3["answers"]["q3"][0] == dx3.tolist()
        out[sid] = key
    return out


def _right(key) -> dict:
    return {
        "q1": key["q1"]["answers"]["q1"][0],
        "q2.grad-input": key["q2"]["answers"]["q2.grad-input"][0],
        "q2.grad-weight": key["q2"]["answers"]["q2.grad-weight"][0][0],
        "q3": key["q3"]["answers"]["q3"][0],
    }


def _pick(keys, used, wrong_of):
    """The first unused student whose injected mistake changes the answer."""
    for sid in IDS:
        if sid not in used and wrong_of(keys[sid]) is not None:
            used.add(sid)
            return sid
    raise AssertionError("no student's variant lets the mistake show")


def _flipped_q1(key):
    q1 = key["q1"]
    w = np.rot90(np.array(q1["givens"]["w"][0][0]), 2)
    y = conv_out(q1["givens"]["x"][0], w, q1["layer"]["stride"], q1["layer"]["padding"])
    return None if y.tolist() == q1["answers"]["q1"][0] else y.tolist()


def _sign_q2(key):
    dx = -conv_grads((4, 4), key["q2"]["givens"]["w"][0][0], key["q2"]["givens"]["dy"][0])
    return None if not dx.any() else dx.tolist()


def _broadcast_q3(key):
    q3 = key["q3"]
    dx = maxpool_grad(q3["givens"]["x"][0], q3["givens"]["dy"][0], 2, broadcast=True)
    return dx.tolist()


@pytest.fixture(scope="module")
def cases(keys):
    """name -> (metadata users, {file: bytes}, expected): expected holds the score (None:
    not graded), per-question points and codes that must appear, and words of the output."""
    used = set()
    out = {}

    def users(sid, email=True):
        return [{"email": f"{sid.upper()}@Uni.edu" if email else "", "id": 7, "name": sid}]

    sid = _pick(keys, used, lambda k: 1)
    sub = json.dumps({"student": sid, **_right(keys[sid])}).encode()
    out["right"] = (users(sid), {f"{sid}.json": sub}, {"score": TOTAL, "words": ["Read:"]})

    sid = _pick(keys, used, _flipped_q1)
    answers = _right(keys[sid]) | {"q1": _flipped_q1(keys[sid])}
    frac = right_fraction(answers["q1"], keys[sid]["q1"]["answers"]["q1"][0])
    expected = {"score": TOTAL - 4 + 4 * frac, "points": {"q1": 4 * frac}}
    expected["codes"] = {"q1": "flipped-kernel"}
    out["flipped-kernel"] = (users(sid), {"answers.json": json.dumps(answers).encode()}, expected)

    sid = _pick(keys, used, _sign_q2)
    answers = _right(keys[sid]) | {"q2.grad-input": _sign_q2(keys[sid])}
    answers["q3"] = _broadcast_q3(keys[sid])
    frac = right_fraction(answers["q2.grad-input"], keys[sid]["q2"]["answers"]["q2.grad-input"])
    q2 = 6 * (frac + 1) / 2
    text = "".join(f"{label}: {json.dumps(v)}\n" for label, v in answers.items())
    expected = {"score": 4 + q2 + 0, "points": {"q2": q2, "q3": 0}}
    expected["codes"] = {"q2": "sign", "q3": "max-pool-broadcast"}
    out["sign-and-broadcast"] = (users(sid), {"hw.tex": text.encode()}, expected)

    sid = _pick(keys, used, lambda k: 1)
    answers = _right(keys[sid])
    del answers["q2.grad-weight"], answers["q3"]
    text = "% my answers\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in answers.items())
    expected = {"score": 4 + 3, "points": {"q2": 3, "q3": 0}, "words": ["no answer given"]}
    out["missing-answer"] = (users(sid), {"a.txt": text.encode()}, expected)

    sid = _pick(keys, used, lambda k: 1)
    files = {"scan.pdf": b"%PDF-1.4\n\xff\xfe\x00\x81 binary"}
    out["unreadable"] = (users(sid), files, {"score": 0, "words": ["not UTF-8", "No readable"]})

    words = ["No student", "roster", "nobody@elsewhere.org"]
    files = {"x.json": json.dumps(_right(keys[IDS[0]])).encode()}
    nobody = [{"email": "nobody@elsewhere.org", "id": 9, "name": "N"}]
    out["unknown-student"] = (nobody, files, {"score": None, "words": words})

    sid = _pick(keys, used, lambda k: 1)
    files = {"empty.json": b"", "blank.txt": b"% nothing yet\n\n"}
    out["empty"] = (users(sid), files, {"score": 0, "words": ["No answer was found", "q2.grad"]})

    sid = _pick(keys, used, lambda k: 1)
    out["no-file"] = (users(sid), {}, {"score": 0, "words": ["No readable file"]})

    sid = _pick(keys, used, lambda k: 1)
    deep = b"{" + b'"q1": ' + b"[" * 200000 + b"]" * 200000 + b"}"
    hostile = "q1: __import__('os').system('touch pwned')\nq3: " + "(" * 5000 + "\n"
    files = {"a.json": deep, "b.txt": hostile.encode(), "big.txt": b"q1: 1\n" * 400000}
    expected = {"score": 0, "words": ["not valid JSON", "larger than"]}
    out["hostile"] = (users(sid), files, expected)
    return out


# ------------------------------------------------------------------ the archive
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gs")
    (tmp / "a.json").write_text(json.dumps(A))
    roster = tmp / "roster.csv"
    roster.write_text(
        "id,name,email,section\n" + "".join(f"{s},Name {s},{s}@uni.edu,A\n" for s in IDS)
    )
    out = export(str(tmp / "a.json"), "gradescope", tmp / "autograder.zip", roster=roster)
    return tmp, out


def _unpack(zip_path, root):
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = root / "source" / info.filename
            target.write_bytes(zf.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")


def _stage(root, case):
    users, files, _ = case
    sub = root / "submission"
    shutil.rmtree(sub, ignore_errors=True)
    sub.mkdir()
    for name, data in files.items():
        (sub / name).write_bytes(data)
    (root / "submission_metadata.json").write_text(json.dumps({"id": 1, "users": users}))
    (root / "results").mkdir(exist_ok=True)


def test_archive_layout_is_deterministic_and_holds_what_gradescope_needs(exported, tmp_path):
    tmp, out = exported
    again = export(
        str(tmp / "a.json"), "gradescope", tmp_path / "b.zip", roster=tmp / "roster.csv"
    )
    assert out.read_bytes() == again.read_bytes()
    with zipfile.ZipFile(out) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        names = sorted(infos)
        wheel = next(n for n in names if n.endswith(".whl"))
        assert names == sorted(
            [
                "setup.sh",
                "run_autograder",
                wheel,
                "assignment.json",
                "roster.csv",
                "symconv-autograder.json",
            ]
        )
        assert all("/" not in n for n in names)  # everything at the root of the archive
        assert (infos["setup.sh"].external_attr >> 16) & 0o777 == 0o755
        assert (infos["run_autograder"].external_attr >> 16) & 0o777 == 0o755
        assert zf.read("run_autograder").startswith(b"#!")
        assert b"SYMCONV_AUTOGRADER_ROOT" in zf.read("run_autograder")
        shipped = json.loads(zf.read("assignment.json"))
        assert shipped["seed"] == A["seed"]
        rows = list(csv.DictReader(io.StringIO(zf.read("roster.csv").decode())))
        assert [r["id"] for r in rows] == IDS and rows[0]["email"] == "s01@uni.edu"
        assert "section" not in rows[0]
        config = json.loads(zf.read("symconv-autograder.json"))
        assert (config["match"], config["key_column"]) == ("email", "email")
        whl = zipfile.ZipFile(io.BytesIO(zf.read(wheel)))
    members = set(whl.namelist())
    info = next(n.split("/")[0] for n in members if n.endswith(".dist-info/RECORD"))
    for need in (
        "symconv/__init__.py",
        "symconv/assignment/export/autograder.py",
        "symconv/templates/gradescope/run_autograder.jinja",
        "symconv/templates/latex/assignment.tex.jinja",
        f"{info}/METADATA",
        f"{info}/WHEEL",
        f"{info}/entry_points.txt",
    ):
        assert need in members, need
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in members)
    metadata = whl.read(f"{info}/METADATA").decode()
    assert "Requires-Dist: numpy" in metadata and "Requires-Dist: sympy" in metadata
    record = whl.read(f"{info}/RECORD").decode().splitlines()
    listed = {}
    for line in record:
        name, digest, size = line.rsplit(",", 2)
        listed[name] = (digest, size)
    assert set(listed) == members
    for name in members - {f"{info}/RECORD"}:
        data = whl.read(name)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert listed[name] == (f"sha256={digest}", str(len(data))), name


TEMPLATES = [
    # first appearance of kernel_size in the kept layers (2 before 3) is not template order
    {
        "kind": "conv",
        "input_size": {"choice": [[4, 4], [6, 6]]},
        "kernel_size": {"choice": [3, 2]},
    },
    {
        "kind": {"choice": ["avg_pool", "max_pool"]},
        "input_size": 6,
        "kernel_size": {"range": [2, 3]},
    },
    {
        "kind": "conv",
        "ndim": 1,
        "input_size": {"range": [5, 8]},
        "kernel_size": {"choice": [3, 2]},
        "stride": {"choice": [2, 1]},
        "dilation": {"choice": [2, 1]},
        "padding": {"choice": [[[1, 0]], 0, "same"]},
    },
]


@pytest.mark.parametrize("layer", TEMPLATES, ids=["reordered", "pools", "conv1d"])
def test_shipped_assignment_draws_every_variant_as_the_original(layer):
    data = {
        "title": "T",
        "seed": 12345,
        "questions": [
            {
                "id": "q",
                "points": Fraction(5, 2),
                "layer": layer,
                "quantities": ["output"],
                "constraints": {"min_output_size": 3},
            }
        ],
    }
    a = load_assignment(data)
    b = load_assignment(json.loads(json.dumps(assignment_data(a)), parse_float=Fraction))
    assert [repr(o) for o, _ in a.questions[0].layers] == [
        repr(o) for o, _ in b.questions[0].layers
    ]
    assert b.questions[0].points == Fraction(5, 2)
    for sid in [f"u{i}" for i in range(25)]:
        va, vb = draw_variant(a, sid, verify=False), draw_variant(b, sid, verify=False)
        assert va.fingerprint() == vb.fingerprint()


@pytest.mark.parametrize(
    "roster, options, words",
    [
        ("id,name\nab,A\n", {"match": "email"}, ["--match email", "'email'", "['id', 'name']"]),
        ("id,email\nab,x@u\ncd,X@U\n", {}, ["email 'x@u' belongs to both 'ab' and 'cd'"]),
        ("id,email\nab,\n", {}, ["student 'ab' has no email", "--match sid"]),
        ("id,email\nab,x@u\n", {"match": "name"}, ["--match must be one of email, sid"]),
        ("id,email\nab,x@u\n", {"id_column": "sid"}, ["id column", "'sid'"]),
    ],
)
def test_bad_roster_or_options_are_refused_by_name(tmp_path, roster, options, words):
    (tmp_path / "r.csv").write_text(roster)
    out = tmp_path / "ag.zip"
    with pytest.raises(SpecError) as err:
        export_gradescope(load_assignment(A), out, roster=tmp_path / "r.csv", **options)
    for w in words:
        assert w in str(err.value)
    assert not out.exists()


def test_cli_exports_and_refuses_in_one_line(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps(A))
    (tmp_path / "r.csv").write_text("sid,name\n1001,A\n1002,B\n")
    out = tmp_path / "ag.zip"
    argv = ["assignment", "export", str(tmp_path / "a.json"), "--to", "gradescope", "-o"]
    assert main(argv + [str(out), "--roster", str(tmp_path / "r.csv"), "--id-column", "sid"]) == 0
    assert f"exported for gradescope: {out}" in capsys.readouterr().out
    config = json.loads(zipfile.ZipFile(out).read("symconv-autograder.json"))
    assert (config["match"], config["key_column"], config["id_column"]) == ("sid", "sid", "sid")
    for extra, message in [
        ([], "error: assignment export: --to gradescope needs --roster"),
        (["--roster", str(tmp_path / "r.csv"), "--variants", "3"], "error: assignment export:"),
        (["--roster", str(tmp_path / "r.csv"), "--match", "sid"], "error: assignment: roster"),
    ]:
        assert main(argv + [str(tmp_path / "x.zip")] + extra) == 2
        err = capsys.readouterr().err
        assert err.startswith(message) and "Traceback" not in err and err.count("\n") == 1
    assert main(argv + [str(tmp_path / "x.tar"), "--roster", str(tmp_path / "r.csv")]) == 2
    assert "-o must be a .zip file" in capsys.readouterr().err


# ------------------------------------------------------------------ results.json
def validate(results, expected):
    """Gradescope's documented fields and types, then the expected scores, codes, words."""
    assert set(results) <= TOP_KEYS, set(results) - TOP_KEYS
    for key in ("score", "execution_time"):
        assert isinstance(results[key], (int, float)) and not isinstance(results[key], bool)
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 0
    assert isinstance(results["output"], str) and results["output"]
    assert results["visibility"] in VISIBILITY and results["stdout_visibility"] in VISIBILITY
    assert isinstance(results["tests"], list) and len(results["tests"]) == 3
    for n, t in enumerate(results["tests"], start=1):
        assert set(t) <= TEST_KEYS, set(t) - TEST_KEYS
        assert isinstance(t["name"], str) and t["number"] == str(n)
        assert isinstance(t["output"], str) and t["visibility"] in VISIBILITY
        for key in ("score", "max_score"):
            assert isinstance(t[key], (int, float)) and not isinstance(t[key], bool)
        assert 0 <= t["score"] <= t["max_score"]
        assert isinstance(t.get("extra_data", {}), dict)
    assert sum(t["max_score"] for t in results["tests"]) == TOTAL
    score = expected["score"]
    assert results["score"] == pytest.approx(float(score if score is not None else 0), abs=0.006)
    by_q = {t["name"].split(":")[0]: t for t in results["tests"]}
    for qid, points in expected.get("points", {}).items():
        assert by_q[qid]["score"] == pytest.approx(float(points), abs=0.006), qid
    for qid, code in expected.get("codes", {}).items():
        codes = [c for p in by_q[qid]["extra_data"]["parts"].values() for c in p["codes"]]
        assert code in codes, (qid, codes)
        assert f"likely mistake {code}:" in by_q[qid]["output"]
    text = results["output"] + "\n".join(t["output"] for t in results["tests"])
    for word in expected.get("words", []):
        assert word in text, (word, text)
    if score is None or score == 0:
        assert results["score"] == 0


def test_runs_in_process_for_every_case(exported, cases, tmp_path):
    _, zip_path = exported
    root = tmp_path / "autograder"
    _unpack(zip_path, root)
    for name, case in cases.items():
        _stage(root, case)
        out = autograder.run(root)
        assert out == root / "results" / "results.json"
        validate(json.loads(out.read_text()), case[2])
    assert not (root / "pwned").exists() and not Path("pwned").exists()


def test_sid_matching_metadata_problems_and_internal_errors(tmp_path, keys):
    (tmp_path / "r.csv").write_text("id,name\n" + "".join(f"{s},N\n" for s in IDS))
    zip_path = export_gradescope(load_assignment(A), tmp_path / "a.zip", roster=tmp_path / "r.csv")
    root = tmp_path / "root"
    _unpack(zip_path, root)
    right = {"hw.json": json.dumps(_right(keys[IDS[3]])).encode()}
    group = [{"email": "a@b", "sid": None}, {"email": "c@d", "sid": IDS[3]}]
    _stage(root, (group, right, None))
    r = autograder.results_for(root)
    validate(r, {"score": TOTAL, "words": [f"graded as {IDS[3]}", "Group submission"]})
    (root / "submission_metadata.json").write_text("{not json")
    validate(autograder.results_for(root), {"score": 0, "words": ["metadata"]})
    (root / "submission_metadata.json").unlink()
    validate(autograder.results_for(root), {"score": 0, "words": ["metadata"]})
    _stage(root, ([{"sid": IDS[3]}], right, None))
    (root / "source" / "roster.csv").write_text("id\n")  # a broken archive: still results
    r = autograder.results_for(root)
    validate(r, {"score": 0, "words": ["could not grade", "no student rows"]})


def test_a_submission_too_slow_to_grade_gets_results_saying_so(
    exported, cases, tmp_path, monkeypatch
):
    _, zip_path = exported
    root = tmp_path / "autograder"
    _unpack(zip_path, root)
    _stage(root, cases["right"])

    def slow(*args):
        time.sleep(5)
        raise AssertionError("not stopped")

    monkeypatch.setattr(autograder, "grade_answers", slow)
    monkeypatch.setenv(autograder.TIME_LIMIT_VARIABLE, "1")
    start = time.monotonic()
    r = autograder.results_for(root)
    assert time.monotonic() - start < 3
    validate(r, {"score": 0, "words": ["longer than 1 seconds"]})


# ------------------------------------------------------------------ acceptance: as Gradescope
def _venv_works() -> bool:
    try:
        import ensurepip  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def installed(exported, tmp_path_factory):
    """The zip unpacked into a root like /autograder and its setup.sh run (a fresh venv)."""
    if not _venv_works():
        pytest.skip("this Python cannot make virtual environments (no ensurepip)")
    _, zip_path = exported
    root = tmp_path_factory.mktemp("gradescope") / "autograder"
    _unpack(zip_path, root)
    env = dict(os.environ, SYMCONV_AUTOGRADER_ROOT=str(root))
    env["SYMCONV_AUTOGRADER_PYTHON"] = getattr(sys, "_base_executable", sys.executable)
    env.pop("PYTHONPATH", None)
    start = time.monotonic()
    proc = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")],
        cwd=root / "source",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "symconv autograder ready: 'Gradescope HW', 3 question(s), 12 student(s)" in (
        proc.stdout
    )
    print(f"setup.sh took {seconds:.1f} s")
    return root, env


def test_setup_installs_the_bundled_wheel_into_a_fresh_venv(installed):
    root, env = installed
    probe = "import symconv, sys; print(symconv.__file__); print(sys.prefix)"
    proc = subprocess.run(
        [str(root / "symconv-venv" / "bin" / "python"), "-c", probe],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    where, prefix = proc.stdout.splitlines()
    assert Path(prefix) == root / "symconv-venv"
    assert Path(where).is_relative_to(root / "symconv-venv")  # the wheel, not this checkout


def test_the_installed_symconv_exports_the_same_archive(installed, exported, tmp_path):
    """symconv installed from the bundled wheel (no checkout, templates inside the package)
    exports the shipped assignment and roster to a byte-identical zip: its CLI entry point,
    the wheel it packs from an installed package, and the shipped assignment file as a
    fixed point of the export."""
    root, env = installed
    _, zip_path = exported
    out = tmp_path / "again.zip"
    proc = subprocess.run(
        [str(root / "symconv-venv" / "bin" / "symconv"), "assignment", "export"]
        + [str(root / "source" / "assignment.json"), "--to", "gradescope", "-o", str(out)]
        + ["--roster", str(root / "source" / "roster.csv")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == zip_path.read_bytes()


def test_run_autograder_as_gradescope_for_every_case(installed, cases):
    root, env = installed
    for name, case in cases.items():
        _stage(root, case)
        (root / "results" / "results.json").write_text("stale")
        proc = subprocess.run(
            [str(root / "run_autograder")],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, name
        assert "Traceback" not in proc.stdout + proc.stderr, (name, proc.stderr)
        text = (root / "results" / "results.json").read_text()
        results = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in results"))
        validate(results, case[2])
    assert not (root / "pwned").exists()


def test_run_autograder_without_setup_still_writes_results(exported, tmp_path):
    _, zip_path = exported
    root = tmp_path / "autograder"
    _unpack(zip_path, root)
    env = dict(os.environ, SYMCONV_AUTOGRADER_ROOT=str(root))
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, timeout=60)
    assert proc.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not start" in results["output"]
    assert set(results) <= TOP_KEYS and results["tests"] == []


def test_a_title_on_several_lines_stays_inside_the_scripts_comments(tmp_path):
    data = dict(A, title='HW\n"; touch pwned; echo "\nrm -rf x')
    (tmp_path / "r.csv").write_text("id,email\nab,a@b\n")
    out = export_gradescope(load_assignment(data), tmp_path / "a.zip", roster=tmp_path / "r.csv")
    with zipfile.ZipFile(out) as zf:
        for name in ("setup.sh", "run_autograder"):
            script = zf.read(name).decode()
            assert all(line.startswith("#") for line in script.splitlines() if "touch" in line)
            assert "\nrm -rf x" not in script
            check = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
            assert check.returncode == 0, check.stderr
