"""No generated type reaches users: not in a public signature, base class or field annotation."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Any

import pytest

import taskmanager

GENERATED = "taskmanager_api"
PACKAGE = Path(taskmanager.__file__).resolve().parent


def _types_in(hint: Any) -> list[Any]:
    """Every class a type hint names, unions and generics taken apart."""
    found = [hint] if isinstance(hint, type) else []
    for arg in typing.get_args(hint):
        found += _types_in(arg)
    origin = typing.get_origin(hint)
    if isinstance(origin, type):
        found.append(origin)
    return found


def _hints(obj: Any) -> dict[str, Any]:
    # Modules import some annotation names only for type checkers; the public namespace has them.
    module = inspect.getmodule(obj)
    public = {name: getattr(taskmanager, name) for name in taskmanager.__all__}  # each loads on first use
    namespace = {**public, **(vars(module) if module else {})}
    return typing.get_type_hints(obj, globalns=namespace)


def _public_callables(obj: Any) -> list[tuple[str, Any]]:
    if not isinstance(obj, type):
        return [(obj.__name__, obj)] if callable(obj) else []
    members = [(f"{obj.__name__}.__init__", obj.__init__)]
    for name, member in inspect.getmembers(obj):
        if name.startswith("_"):
            continue
        if isinstance(member, property) and member.fget is not None:
            members.append((f"{obj.__name__}.{name}", member.fget))
        elif inspect.isfunction(member) or inspect.ismethod(member):
            members.append((f"{obj.__name__}.{name}", member))
    return members


@pytest.mark.parametrize("name", taskmanager.__all__)
def test_public_name_exposes_no_generated_type(name: str) -> None:
    """Signatures, bases and annotations of every public name use no class of the generated package."""
    obj = getattr(taskmanager, name)
    found: list[str] = []
    if isinstance(obj, type):
        found += [
            f"{name} base {base.__module__}" for base in obj.__mro__ if base.__module__.startswith(GENERATED)
        ]
        if not issubclass(obj, BaseException):
            found += [
                f"{name}.{field}: {cls!r}"
                for field, hint in _hints(obj).items()
                for cls in _types_in(hint)
                if cls.__module__.startswith(GENERATED)
            ]
    for label, func in _public_callables(obj):
        try:
            hints = _hints(func)
        except TypeError:  # a builtin slot wrapper (e.g. object.__init__): nothing to read
            continue
        found += [
            f"{label} {arg}: {cls!r}"
            for arg, hint in hints.items()
            for cls in _types_in(hint)
            if cls.__module__.startswith(GENERATED)
        ]
    assert found == []


def test_the_check_sees_generated_types() -> None:
    """The helper recognises a generated class inside a union and a generic (the test can fail)."""
    from taskmanager_api.models import TaskClaimed

    hint = list[TaskClaimed] | None
    assert TaskClaimed in _types_in(hint)
    assert TaskClaimed.__module__.startswith(GENERATED)


def test_only_the_wire_module_touches_generated_code() -> None:
    """Outside the embedded server, only the wire layer names the generated package.

    ``_bindings.py`` is the list of generated names ``_wire.py`` uses (imported there by name, so
    that mypy checks them); nothing else may reach the bindings.
    """
    users = [
        path.name for path in sorted(PACKAGE.glob("*.py")) if GENERATED in path.read_text(encoding="utf-8")
    ]
    assert users == ["_bindings.py", "_wire.py"]
