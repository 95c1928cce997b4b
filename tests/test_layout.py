"""The house: the library's layers import only downward and without cycles, the module the
Snakefile reads is light, every registry of methods agrees with the schema, and the library files
a rule depends on are exactly the import closure of its script (computed, not listed by hand)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from langadapt.core.deps import import_closure, imported_modules, module_file

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "langadapt"
# bottom to top: a module may import from its own layer or the layers below it
LAYERS = ["core", "lang", "data", "models", "vocab", "transfer", "train", "translate", "eval", "workflow"]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def layer(name: str) -> int | None:
    """The layer of a module (None for the package's own __init__)."""
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 else None


def test_every_module_sits_in_a_layer():
    assert {n.split(".")[1] for n in modules() if n != "langadapt"} == set(LAYERS)


def test_imports_go_only_downward_and_form_no_cycle():
    graph = {name: imported_modules(path, ROOT) for name, path in modules().items()}
    upward = [(a, b) for a, deps in graph.items() for b in deps
              if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)]
    assert upward == []
    # depth-first search for a cycle among modules (packages' __init__ files import nothing)
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(path + [node, nxt])}")
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


def test_no_private_name_is_imported_from_another_module():
    private = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("langadapt"):
                private += [f"{name}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert private == []


def test_the_package_imports_its_own_modules_at_the_top():
    """Imports of our own modules inside functions hide a dependency (and once hid cycles)."""
    inner = []
    for name, path in modules().items():
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner += [f"{name}.{fn.name}" for node in ast.walk(fn)
                          if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("langadapt"))]
    assert inner == []


def test_what_the_snakefile_imports_is_light():
    """The Snakefile runs on every `snakemake` call (the no-op re-run included): no torch,
    transformers, pandas, datasets or lm-eval behind langadapt.workflow and the registry."""
    code = ("import sys, langadapt.workflow, langadapt.transfer.registry, langadapt.core.deps\n"
            "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'datasets', 'lm_eval', 'numpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def schema():
    return yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())


def test_registries_agree_with_the_schema():
    from langadapt.data.corpus import EXTRACTORS
    from langadapt.train.lep import PROPAGATE
    from langadapt.transfer.registry import METHODS, get_method
    from langadapt.translate.pipeline import BACKENDS
    from langadapt.vocab.build import KINDS
    from langadapt.vocab.families import FAMILIES

    s = schema()
    assert s["definitions"]["family"]["enum"] == list(FAMILIES)
    assert s["definitions"]["init_method"]["enum"] == list(METHODS)
    assert all(callable(get_method(m)) for m in METHODS)  # each name has its module with `init`
    assert s["definitions"]["propagation"]["enum"] == list(PROPAGATE)
    assert s["definitions"]["source"]["properties"]["extractor"]["enum"] == list(EXTRACTORS)
    variant = s["properties"]["tokenizer"]["properties"]["variants"]["additionalProperties"]
    assert variant["properties"]["kind"]["enum"] == list(KINDS)
    assert s["properties"]["translate"]["properties"]["backend"]["enum"] == list(BACKENDS)


def test_every_script_rule_depends_on_the_closure_of_its_own_script():
    """Each rule's `lib=library("x.py")` names the script of its own `script:` directive (the
    transfer rule's sits in common.smk's transfer_inputs, with the initialization it dispatches)."""
    scripts = {p.name for p in (ROOT / "scripts").glob("*.py")}
    seen = set()
    for smk in (ROOT / "rules").glob("*.smk"):
        for block in smk.read_text().split("\n\n\n"):
            named = [line.split('"')[1] for line in block.splitlines() if "lib=library(" in line]
            run = [line.split("scripts/")[1].rstrip('"') for line in block.splitlines() if '"../scripts/' in line]
            assert named == run or (run == ["transfer.py"] and "transfer_inputs" in block), (smk.name, block[:60])
            seen.update(run)
    assert seen == scripts


def test_closure_follows_relative_function_level_and_package_imports(tmp_path):
    """A planted package: the closure of a script holds what it imports, what those import
    (also inside functions, relatively, and through `from pkg import module`), the packages'
    __init__ files and the dispatched modules, and nothing else."""
    pkg = tmp_path / "langadapt"
    files = {
        "__init__.py": "",
        "a/__init__.py": "",
        "a/low.py": "import json\n",
        "a/mid.py": "def f():\n    from .low import x\n",
        "b/__init__.py": "",
        "b/top.py": "from langadapt.a import mid\n",
        "b/picked.py": "from ..a import low\n",
        "b/unused.py": "",
    }
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    script = tmp_path / "script.py"
    script.write_text("from langadapt.b.top import g\n")
    rel = lambda paths: sorted(str(Path(p).relative_to(pkg)) for p in paths)  # noqa: E731
    assert rel(import_closure(script, root=tmp_path)) == [
        "__init__.py", "a/__init__.py", "a/low.py", "a/mid.py", "b/__init__.py", "b/top.py"]
    assert "b/picked.py" in rel(import_closure(script, ("langadapt.b.picked",), root=tmp_path))
    assert module_file("langadapt.b.missing", tmp_path) is None


def test_what_each_file_imports_is_kept_between_runs_until_it_or_the_package_changes(tmp_path, monkeypatch):
    """The Snakefile's next read takes what each file imports from .snakemake/ and parses
    nothing; a new module (which turns an unchanged `from pkg import name` into a module import)
    and an edited file are parsed again."""
    from langadapt.core import deps

    pkg = tmp_path / "langadapt"
    for rel_path, text in {"__init__.py": "", "a/__init__.py": "", "a/low.py": ""}.items():
        (pkg / rel_path).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel_path).write_text(text)
    script = tmp_path / "script.py"
    script.write_text("from langadapt.a import low, helper\n")

    def next_run():  # a new process: nothing in memory
        deps.imported_modules.cache_clear()
        deps._cache.cache_clear()
        return sorted(str(Path(p).relative_to(pkg)) for p in import_closure(script, root=tmp_path))

    assert next_run() == ["__init__.py", "a/__init__.py", "a/low.py"]
    assert deps.cache_file(tmp_path).is_file()
    real_parse = deps._parse_imports
    monkeypatch.setattr(deps, "_parse_imports", lambda *a: pytest.fail("parsed again"))
    assert next_run() == ["__init__.py", "a/__init__.py", "a/low.py"]
    monkeypatch.setattr(deps, "_parse_imports", real_parse)
    (pkg / "a" / "helper.py").write_text("")
    assert next_run() == ["__init__.py", "a/__init__.py", "a/helper.py", "a/low.py"]
    (pkg / "a" / "extra.py").write_text("")
    (pkg / "a" / "low.py").write_text("from . import extra\n")
    assert next_run() == ["__init__.py", "a/__init__.py", "a/extra.py", "a/helper.py", "a/low.py"]


def test_a_code_stamp_changes_exactly_when_a_file_of_its_closure_does(tmp_path, monkeypatch):
    """A rule's code input: one file listing its closure with each file's digest, rewritten when
    a file of the closure changes and only then, dated as its newest file (an edit re-runs its
    jobs; a stamp made again after `.snakemake/` is deleted does not); two scripts with the same
    closure share one; a read-only checkout gets the files themselves."""
    from langadapt.core import deps

    pkg = tmp_path / "langadapt"
    for rel_path, text in {"__init__.py": "", "a/__init__.py": "", "a/low.py": "", "a/other.py": ""}.items():
        (pkg / rel_path).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel_path).write_text(text)
    (tmp_path / "one.py").write_text("from langadapt.a import low\n")
    (tmp_path / "two.py").write_text("import langadapt.a.low\n")

    def stamp(script="one.py"):  # as a new process reading the Snakefile makes it
        deps.imported_modules.cache_clear()
        deps._cache.cache_clear()
        [path] = deps.code_stamp(import_closure(tmp_path / script, root=tmp_path), root=tmp_path)
        return Path(path)

    first = stamp()
    assert first.parent == tmp_path / ".snakemake" / "langadapt-code" and stamp("two.py") == first
    assert sorted(json.loads(first.read_text())["files"]) == ["langadapt/__init__.py", "langadapt/a/__init__.py",
                                                                "langadapt/a/low.py"]
    os.utime(first, ns=(1, 1))
    (pkg / "a" / "other.py").write_text("x = 1\n")  # not in the closure
    os.utime(pkg / "a" / "low.py")  # touched, not changed
    assert stamp().stat().st_mtime_ns == 1
    (pkg / "a" / "low.py").write_text("x = 2\n")
    assert stamp() == first and first.stat().st_mtime_ns == (pkg / "a" / "low.py").stat().st_mtime_ns
    for path in pkg.rglob("*.py"):
        os.utime(path, ns=(5, 5) if path.name == "low.py" else (3, 3))
    shutil.rmtree(tmp_path / ".snakemake")  # made again: dated as the code, not as now
    assert stamp().stat().st_mtime_ns == 5
    (pkg / "a" / "low.py").write_text("x = 3\n")

    def read_only(path, text):
        raise PermissionError(13, "Read-only file system", str(path))

    monkeypatch.setattr(deps, "_write", read_only)
    deps.imported_modules.cache_clear()
    deps._cache.cache_clear()
    files = import_closure(tmp_path / "one.py", root=tmp_path)
    assert deps.code_stamp(files, root=tmp_path) == files


@pytest.mark.parametrize("script", ["evaluate.py", "lep.py", "transfer.py", "translate.py", "eval_tasks.py"])
def test_closure_holds_every_module_the_script_really_imports(script):
    """Against Python itself: the modules of ours that importing a script's imports loads are
    all in its closure (the transfer script with the method it dispatches)."""
    tree = ast.parse((ROOT / "scripts" / script).read_text())
    imports = "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    extra = ("langadapt.transfer.salt",) if script == "transfer.py" else ()
    code = (f"import sys, importlib\n{imports}\n"
            + "".join(f"importlib.import_module({m!r})\n" for m in extra)
            + "print('\\n'.join(sorted(m for m in sys.modules if m == 'langadapt' or m.startswith('langadapt.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = {str(module_file(m)) for m in out.stdout.split()}
    closure = set(import_closure(ROOT / "scripts" / script, extra))
    assert loaded and loaded <= closure, sorted(loaded - closure)


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body and \
                isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            out.add(id(node.body[0].value))
    return out


def test_no_language_is_written_into_the_code_but_in_its_profile():
    """Every fact about a language is in langadapt/lang/profiles.py: no string in the library,
    the scripts, the task hooks or the rules is a built-in language's code or holds its name
    (docstrings and comments may speak of them). Planted: the old `{"en": "English", "ru": "Russian"}`
    is caught."""
    from langadapt.lang.profiles import BUILTIN

    codes = set(BUILTIN)
    names = re.compile(r"\b(" + "|".join(p["name"] for p in BUILTIN.values()) + r")\b", re.IGNORECASE)

    def literals(source: str) -> list[str]:
        tree = ast.parse(source)
        skip = _docstrings(tree)
        return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                and id(n) not in skip and (n.value in codes or names.search(n.value))]

    assert sorted(literals('NAMES = {"en": "English", "ru": "Russian"}')) == ["English", "Russian", "en", "ru"]
    profiles = PACKAGE / "lang" / "profiles.py"
    files = [p for p in [*PACKAGE.rglob("*.py"), *(ROOT / "scripts").glob("*.py"), *(ROOT / "tasks").glob("*.py")]
             if p != profiles]
    found = {str(p.relative_to(ROOT)): hits for p in files if (hits := literals(p.read_text()))}
    quoted = re.compile(r"""["'](""" + "|".join(codes) + r""")["']""")
    for smk in [ROOT / "Snakefile", *(ROOT / "rules").glob("*.smk")]:
        code = "\n".join(line.split("#", 1)[0] for line in smk.read_text().splitlines())
        if hits := quoted.findall(code) + names.findall(code):
            found[str(smk.relative_to(ROOT))] = hits
    assert found == {}
