"""The library code a rule runs: the import closure of its script, read from the source (ast).

The Snakefile gives every script rule these files as inputs, so editing a module re-runs exactly
the jobs whose scripts import it, directly or through other modules (imports inside functions
count too), and their dependants. Nothing is imported to find them: parsing the ~50 modules
takes milliseconds when the Snakefile is read.
"""

from __future__ import annotations

import ast
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


@lru_cache(maxsize=None)
def imported_modules(path: Path, root: Path = ROOT) -> frozenset[str]:
    """Our modules that the file at `path` imports, anywhere in it (relative imports resolved;
    `from pkg import name` counts `pkg.name` when that is a module, else `pkg`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
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
    return frozenset(m for m in found if module_file(m, root))


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
    return sorted(str(module_file(n, root)) for n in seen)
