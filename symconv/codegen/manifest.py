"""The manifest of committed generated modules (``generated/manifest.toml``) and
:func:`regenerate`, which rewrites them or, with ``check=True``, reports every stale one with a
unified diff.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import CodegenError, SpecError
from ..core import layers
from ..core.layers import Layer
from ..fileio import write_atomic
from .render import generate_numpy

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "ManifestEntry",
    "RegenerateResult",
    "default_generated_dir",
    "load_manifest",
    "parse_manifest_text",
    "regenerate",
]

MANIFEST_NAME = "manifest.toml"
_MANIFEST_KEYS = {
    "file",
    "description",
    "kind",
    "input_size",
    "kernel_size",
    "in_channels",
    "out_channels",
    "channels",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "flip",
    "output_padding",
    "ceil_mode",
    "count_include_pad",
    "ties",
    "implicit",
    "winograd",
}


@dataclass(frozen=True)
class ManifestEntry:
    """One generated module: the file name (inside ``generated/``) and the layer."""

    file: str
    description: str
    params: tuple

    def _flag(self, key: str) -> bool:
        value = dict(self.params).get(key, False)
        if value not in (True, False):
            raise CodegenError(
                f"manifest: {self.file}: {key} must be true or false, got {value!r}"
            )
        return value

    @property
    def implicit(self) -> bool:
        """Whether the module runs as an implicit GEMM (``generate_numpy(implicit=True)``)."""
        return self._flag("implicit")

    @property
    def winograd(self) -> bool:
        """Whether the module runs as Winograd F(2x2, 3x3) (``generate_numpy(winograd=True)``)."""
        return self._flag("winograd")

    def layer(self) -> Layer:
        """The layer this entry describes (a manifest error names the file)."""
        p = dict(self.params)
        p.pop("implicit", None)
        p.pop("winograd", None)
        kind = p.pop("kind")
        args = (_tuplify(p.pop("input_size")), _tuplify(p.pop("kernel_size")))
        p = {k: _tuplify(v) for k, v in p.items()}
        builders = {
            "conv": layers.conv,
            "conv_transpose": layers.conv_transpose,
            "max_pool": layers.max_pool,
            "avg_pool": layers.avg_pool,
        }
        if kind not in builders:
            raise CodegenError(f"manifest: {self.file}: kind must be one of {sorted(builders)}")
        try:
            return builders[kind](*args, **p)
        except TypeError as exc:
            raise CodegenError(f"manifest: {self.file}: {exc}") from None
        except SpecError as exc:
            raise CodegenError(f"manifest: {self.file}: {exc}") from None


def _tuplify(v):
    if isinstance(v, list):
        return tuple(_tuplify(e) for e in v)
    return v


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: its path and its :class:`ManifestEntry` tables, in file order."""

    path: Path
    entries: tuple

    @property
    def folder(self) -> Path:
        return self.path.parent


def parse_manifest_text(text: str, where: str = MANIFEST_NAME) -> list:
    """The ``[[module]]`` tables of a manifest as dicts.

    Uses ``tomllib`` when available (Python 3.11+); otherwise a parser for the subset the
    manifest is written in: comments, ``[[module]]`` headers and one ``key = value`` per line
    with the value in JSON syntax (which TOML's strings, integers, booleans and arrays are).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = None
    if tomllib is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CodegenError(f"{where}: invalid TOML: {exc}") from None
        tables = data.get("module", [])
        if set(data) - {"module"}:
            raise CodegenError(f"{where}: only [[module]] tables are allowed, got {sorted(data)}")
        return tables
    tables = []
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "[[module]]":
            current = {}
            tables.append(current)
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None:
            raise CodegenError(
                f"{where}:{number}: expected [[module]] or key = value, got {raw!r}"
            )
        try:
            current[key.strip()] = json.loads(value.strip())
        except json.JSONDecodeError as exc:
            raise CodegenError(f"{where}:{number}: bad value {value.strip()!r}: {exc}") from None
    return tables


def load_manifest(path) -> Manifest:
    """Read and check a manifest: known keys only, ``file`` and ``kind`` required, file names
    lowercase Python files listed once."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodegenError(f"manifest {path}: {exc.strerror or exc}") from None
    entries = []
    names = set()
    for n, table in enumerate(parse_manifest_text(text, str(path)), 1):
        unknown = set(table) - _MANIFEST_KEYS
        if unknown:
            raise CodegenError(f"{path}: module {n}: unknown keys {sorted(unknown)}")
        if "file" not in table or "kind" not in table:
            raise CodegenError(f"{path}: module {n}: 'file' and 'kind' are required")
        name = table["file"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.py", name):
            raise CodegenError(
                f"{path}: module {n}: file must be a lowercase python file name, got {name!r}"
            )
        if name in names:
            raise CodegenError(f"{path}: module {n}: file {name!r} is listed twice")
        names.add(name)
        params = tuple((k, v) for k, v in table.items() if k not in ("file", "description"))
        entries.append(ManifestEntry(name, table.get("description", ""), params))
    return Manifest(path, tuple(entries))


def default_generated_dir() -> Path:
    """``./generated`` when it holds a manifest, else the repository's ``generated/``."""
    here = Path.cwd() / "generated"
    if (here / MANIFEST_NAME).is_file():
        return here
    repo = Path(__file__).resolve().parents[2] / "generated"
    if (repo / MANIFEST_NAME).is_file():
        return repo
    raise CodegenError(
        f"no generated/{MANIFEST_NAME} in {Path.cwd()} or {repo.parent}; pass --dir"
    )


@dataclass
class RegenerateResult:
    """The files :func:`regenerate` wrote, found stale, and (``check=True``) their diffs."""

    written: list = field(default_factory=list)
    stale: list = field(default_factory=list)
    diffs: list = field(default_factory=list)


def regenerate(folder=None, *, check: bool = False, out=None) -> RegenerateResult:
    """Regenerate every module of ``folder/manifest.toml`` (check only with ``check=True``).

    ``out`` (a folder) writes the modules there instead of next to the manifest.
    """
    folder = Path(folder) if folder is not None else default_generated_dir()
    manifest = load_manifest(folder / MANIFEST_NAME)
    target = Path(out) if out is not None else folder
    result = RegenerateResult()
    for entry in manifest.entries:
        source = generate_numpy(entry.layer(), implicit=entry.implicit, winograd=entry.winograd)
        path = target / entry.file
        try:
            old = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            old = None
        if old == source:
            continue
        result.stale.append(entry.file)
        if check:
            result.diffs.append(
                "".join(
                    difflib.unified_diff(
                        (old or "").splitlines(keepends=True),
                        source.splitlines(keepends=True),
                        fromfile=f"{entry.file} (committed)" if old is not None else "/dev/null",
                        tofile=f"{entry.file} (regenerated)",
                    )
                )
            )
        else:
            write_atomic(path, source)
            result.written.append(entry.file)
    return result
