"""docs/architecture.md stays true: what it names exists, and it names every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "taskmanager"

# taskmanager/_wire.py, taskmanager/server/, taskmanager/server/_app.py
_PATH = re.compile(r"\btaskmanager/[\w/]*(?:\.py|/)?")
# taskmanager._wire, taskmanager.server._app (an attribute after the module is allowed)
_DOTTED = re.compile(r"\btaskmanager(?:\.\w+)+")
_CODE = re.compile(r"`([^`\n]+)`")
# `_retry.send`, `_wire.answer(...)`: a private module and a name in it
_MODULE_ATTR = re.compile(r"^(_\w+)\.(\w+)")
# `Worker._claim_loop`, `TaskRun.run`: a class of the package and a name in it
_CLASS_ATTR = re.compile(r"^([A-Z]\w*)\.(\w+)")


def package_modules(package: Path = PACKAGE) -> list[str]:
    """The modules a reader meets: each top-level module, and ``server/`` as one entry."""
    found = [f"taskmanager/{path.name}" for path in sorted(package.glob("*.py"))]
    found += [
        f"taskmanager/{path.name}/" for path in sorted(package.iterdir()) if (path / "__init__.py").is_file()
    ]
    return found


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _classes(package: Path) -> dict[str, set[str]]:
    """Each class of the package (server included) -> the names its body defines."""
    classes: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        for node in _tree(path).body:
            if isinstance(node, ast.ClassDef):
                members = classes.setdefault(node.name, set())
                members.update(_top_level_names(ast.Module(body=node.body, type_ignores=[])))
    return classes


def _exists(name: str, package: Path) -> bool:
    """Whether ``taskmanager/...`` (a path) or ``taskmanager....`` (dotted) names a module."""
    root = package.parent
    if "/" in name:
        return (root / name).exists()
    parts = name.split(".")
    for end in range(len(parts), 1, -1):  # the longest prefix that is a module; the rest is an attribute
        candidate = root.joinpath(*parts[:end])
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return True
    return False


def problems(text: str, package: Path = PACKAGE, modules: list[str] | None = None) -> list[str]:
    """What is wrong with the page ``text``: names that do not exist, modules it leaves out."""
    found: list[str] = []
    named: set[str] = set()
    for name in _PATH.findall(text) + _DOTTED.findall(text):
        if not _exists(name, package):
            found.append(f"names {name}, which does not exist")
            continue
        module = name if "/" in name else "taskmanager/" + name.split(".")[1] + ".py"
        named.add(module)
        if "/" in name and name.count("/") > 1:  # taskmanager/server/... names the server package
            named.add("taskmanager/" + name.split("/")[1] + "/")
    if "taskmanager/server.py" in named:  # the dotted form taskmanager.server
        named.add("taskmanager/server/")
    classes = _classes(package)
    for code in _CODE.findall(text):
        if match := _MODULE_ATTR.match(code):
            module, attr = match.groups()
            path = package / f"{module}.py"
            if not path.is_file():
                found.append(f"`{code}`: no module taskmanager/{module}.py")
            elif attr != "py" and attr not in _top_level_names(_tree(path)):
                found.append(f"`{code}`: taskmanager/{module}.py has no {attr}")
        elif (match := _CLASS_ATTR.match(code)) and match.group(1) in classes:
            klass, attr = match.groups()
            if attr not in classes[klass]:
                found.append(f"`{code}`: {klass} has no {attr}")
    for module in package_modules(package) if modules is None else modules:
        if module not in named:
            found.append(f"leaves out {module} (add a line on its one job)")
    return found


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_architecture_doc_names_only_what_exists_and_every_module() -> None:
    """Every module, function and method the page names exists; every module of the package is named."""
    assert problems(_doc()) == []


def test_a_name_that_does_not_exist_is_caught() -> None:
    """A module, a function or a method that is not there is reported, in every spelling."""
    text = (
        _doc()
        + "\n`taskmanager/_gone.py`, `taskmanager._vanished`, `_wire.no_such`, `_nowhere.x`, `Worker.fly`\n"
    )
    assert problems(text) == [
        "names taskmanager/_gone.py, which does not exist",
        "names taskmanager._vanished, which does not exist",
        "`_wire.no_such`: taskmanager/_wire.py has no no_such",
        "`_nowhere.x`: no module taskmanager/_nowhere.py",
        "`Worker.fly`: Worker has no fly",
    ]


def test_a_module_left_out_is_caught() -> None:
    """A module the page does not mention (a new one, or a line deleted) is reported."""
    assert problems(_doc(), modules=[*package_modules(), "taskmanager/_new.py"]) == [
        "leaves out taskmanager/_new.py (add a line on its one job)"
    ]
    without_wire = "\n".join(line for line in _doc().splitlines() if "taskmanager/_wire.py" not in line)
    assert problems(without_wire) == ["leaves out taskmanager/_wire.py (add a line on its one job)"]


def test_the_server_package_counts_as_one_entry() -> None:
    """``server/`` is one entry: named by its folder or its dotted name, not module by module."""
    assert "taskmanager/server/" in package_modules()
    assert not any(m.startswith("taskmanager/server/_") for m in package_modules())
    text = _doc().replace("`taskmanager/server/`", "`taskmanager.server`")
    assert problems(text) == []
