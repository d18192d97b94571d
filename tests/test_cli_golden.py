"""The CLI's output for the README's examples, byte for byte (tests/golden/cli/NAME.txt).

The golden files were written by the CLI before the package was split into subpackages by
pipeline stage; a change that alters any of them must be intended. Refresh one with
``symconv ARGS > tests/golden/cli/NAME.txt`` and say why in the commit.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from symconv.cli import main

GOLDEN = Path(__file__).parent / "golden" / "cli"

CASES = [
    ("default", ""),
    ("derive_s2p1", "derive conv --input-size 5x5 --kernel-size 3x3 --stride 2 --padding 1"),
    ("derive_pool", "derive max-pool --input-size 4x4 --kernel-size 2x2"),
    (
        "derive_avg",
        "derive avg-pool --input-size 5x5 --kernel-size 3x3 --stride 2 --padding 1 --ceil-mode",
    ),
    (
        "derive_tr",
        "derive conv-transpose --input-size 3x3 --kernel-size 3x3 --stride 2 --padding 1 --output-padding 1",
    ),
    ("derive_json", "derive conv --format json"),
    ("toeplitz_row_latex", "toeplitz conv --convention row --format latex"),
    ("toeplitz_text", "toeplitz conv --input-size 4x4 --kernel-size 3x3 --stride 2 --padding 1"),
    ("toeplitz_json", "toeplitz conv --format json"),
    (
        "latex_snip",
        "latex conv --x [[1,2,3],[4,5,6],[7,8,9]] --w [[1,0],[0,-1]] --target [[0,0],[0,0]]",
    ),
    (
        "latex_article",
        "latex conv --document article --x [[1,2,3],[4,5,6],[7,8,9]] --w [[1,0],[0,-1]] --target [[0,0],[0,0]]",
    ),
    ("latex_beamer", "latex conv --document beamer"),
    (
        "latex_beamer_mc",
        "latex conv --input-size 4x4 --kernel-size 3x3 --stride 2 --padding 1 --out-channels 2 --bias --document beamer",
    ),
    (
        "latex_pool",
        "latex max-pool --input-size 4x4 --kernel-size 2x2 --stride 2 --document beamer --x [[1,3,2,4],[5,6,1,2],[7,2,3,3],[1,0,4,2]] --dy [[1,2],[3,4]]",
    ),
    ("latex_avg", "latex avg-pool --input-size 4x4 --kernel-size 2x2 --document article"),
    (
        "check_sign",
        "check conv --quantity grad-weight --answer [[48,64],[96,112]] --x [[1,2,3],[4,5,6],[7,8,9]] --w [[1,0],[0,-1]] --target [[0,0],[0,0]]",
    ),
    (
        "check_ok",
        "check conv --quantity grad-weight --answer [[-48,-64],[-96,-112]] --x [[1,2,3],[4,5,6],[7,8,9]] --w [[1,0],[0,-1]] --target [[0,0],[0,0]]",
    ),
    (
        "check_flip",
        "check conv --quantity output --answer [[-4,-4],[-4,-4]] --x [[1,2,3],[4,5,6],[7,8,9]] --w [[0,1],[-1,0]]",
    ),
    ("network_summary", "network --example lenet5 --summary"),
    ("network_latex", "network --example seed002 --latex"),
    ("network_latex4", "network --example seed004 --latex"),
    ("network_json", "network --example alexnet --summary --json"),
]


@pytest.mark.parametrize("name, args", CASES, ids=[c[0] for c in CASES])
def test_cli_output_is_unchanged(name, args, capsys):
    status = main(shlex.split(args))
    out = capsys.readouterr().out
    expected = (GOLDEN / f"{name}.txt").read_text()
    assert out == expected
    assert status == (1 if name == "check_sign" or name == "check_flip" else 0)
