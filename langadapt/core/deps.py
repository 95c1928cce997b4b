"""The library code a rule runs: the import closure of its script, read from the source (ast).

The Snakefile gives every script rule a code stamp of these files as an input, so editing a
module re-runs exactly the jobs whose scripts import it, directly or through other modules
(imports inside functions count too), and their dependants. A stamp,
`.snakemake/langadapt-code/<key>.json` under the checkout, lists a closure's files with their
content digests, is rewritten only when one of them changes and is dated as the newest of
them (so that deleting `.snakemake/` re-runs nothing): one input per job instead of
~12 files (600 tokenize jobs named 7,800 of a 689-job DAG's 12,600 inputs), and a file touched
but not changed re-runs nothing. Nothing is imported to find the closures: the ~80 files are
parsed once and what each imports is kept by its content's digest in
`.snakemake/langadapt-imports.json`, so reading the Snakefile reads and hashes them (10 ms)
instead of parsing them (0.2 s) on every run, dry-run and cluster job step.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

PACKAGE = "langadapt"
ROOT = Path(__file__).resolve().parents[2]  # the directory that holds the package


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file of module `name` (a package's __init__.py), or None if it is not one of ours."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def cache_file(root: Path = ROOT) -> Path:
    return root / ".snakemake" / "langadapt-imports.json"


@lru_cache(maxsize=None)
def _cache(root: Path) -> dict:
    """{path: [digest, modules]} as an earlier run saved it, valid while the package holds the same
    files (whether `from pkg import name` names a module depends on which files exist)."""
    layout = hashlib.blake2b("\n".join(sorted(str(p.relative_to(root)) for p in (root / PACKAGE).rglob("*.py")))
                             .encode(), digest_size=16).hexdigest()
    try:
        saved = json.loads(cache_file(root).read_text())
    except (OSError, ValueError):
        saved = {}
    files = saved.get("files", {}) if saved.get("layout") == layout else {}
    return {"layout": layout, "files": files, "changed": False}


@lru_cache(maxsize=None)
def imported_modules(path: Path, root: Path = ROOT) -> frozenset[str]:
    """Our modules that the file at `path` imports, anywhere in it (relative imports resolved;
    `from pkg import name` counts `pkg.name` when that is a module, else `pkg`)."""
    text = path.read_bytes()
    digest = hashlib.blake2b(text, digest_size=16).hexdigest()
    cache = _cache(root)
    entry = cache["files"].get(str(path))
    if entry is None or entry[0] != digest:
        entry = cache["files"][str(path)] = [digest, sorted(_parse_imports(path, text, root))]
        cache["changed"] = True
    return frozenset(entry[1])


def code_stamp(files: list[str], root: Path = ROOT) -> list[str]:
    """[the stamp of `files`] (see the module's docstring), written atomically when what it says
    changes (cluster job steps read the Snakefile side by side) and dated as the newest of them,
    so that a stamp made again (`.snakemake/` deleted) is no newer than the code it stands for
    and re-runs nothing; `files` themselves where the checkout is read-only."""
    hashed = _cache(root)["files"]  # each file's digest as import_closure read it
    digests = {str(Path(f).relative_to(root)): hashed[f][0] for f in files}
    key = hashlib.blake2b("\n".join(digests).encode(), digest_size=8).hexdigest()
    path = root / ".snakemake" / "langadapt-code" / f"{key}.json"
    text = json.dumps({"files": digests}, indent=1, sort_keys=True) + "\n"
    try:
        if not path.is_file() or path.read_text() != text:
            _write(path, text)
            newest = max(os.stat(f).st_mtime_ns for f in files)
            os.utime(path, ns=(newest, newest))
    except OSError:
        return files
    return [str(path)]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _save(root: Path) -> None:
    """Keep what this process parsed for the next one, written atomically (cluster job steps read
    the Snakefile side by side); a read-only checkout keeps nothing."""
    cache = _cache(root)
    if not cache["changed"]:
        return
    try:
        _write(cache_file(root), json.dumps({"layout": cache["layout"], "files": cache["files"]}, sort_keys=True))
        cache["changed"] = False
    except OSError:
        pass


def _parse_imports(path: Path, text: bytes, root: Path) -> set[str]:
    tree = ast.parse(text, filename=str(path))
    inside = path.is_relative_to(root / PACKAGE)
    here = _module_name(path, root).split(".") if inside else []
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = [f"{mod}.{a.name}" for a in node.names]
            found.update(s for s in subs if module_file(s, root))
            if not all(module_file(s, root) for s in subs):
                found.add(mod)
    return {m for m in found if module_file(m, root)}


def import_closure(script: str | Path, extra: tuple[str, ...] = (), root: Path = ROOT) -> list[str]:
    """Files of every module of ours that `script` runs: what it imports, what those import, and
    the packages they sit in, plus `extra` modules (chosen at run time, like an initialization
    method by its name) with their own closures. Sorted paths."""
    todo = list(imported_modules(Path(script).resolve(), root)) + list(extra)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or module_file(name, root) is None:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # Python runs each package's __init__
        todo += imported_modules(module_file(name, root), root)
    _save(root)
    return sorted(str(module_file(n, root)) for n in seen)
