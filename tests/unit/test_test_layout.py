"""The tests' own layout: helpers live in tests/support, fixtures in conftest.py files.

A test module importing a conftest gets a second copy of it under another module name (pytest loads conftests
itself), so fixtures and module state silently diverge; and a helper hidden in a conftest is invisible to the
next suite that needs it, which then writes its own. Both rules are checked here from the source, no server."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _python_files() -> list[Path]:
    return sorted(path for path in TESTS.rglob("*.py") if "__pycache__" not in path.parts)


def _imported_modules(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append(node.module or "")
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _is_fixture(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
        if isinstance(target, ast.Name) and target.id == "fixture":
            return True
    return False


def test_no_module_imports_a_conftest():
    offenders = [f"{path.relative_to(TESTS.parent)}: {module}"
                 for path in _python_files()
                 for module in _imported_modules(ast.parse(path.read_text(), str(path)))
                 if "conftest" in module.split(".")]
    assert offenders == [], "import helpers from tests/support instead:\n" + "\n".join(offenders)


def test_conftest_files_hold_fixtures_and_hooks_only():
    offenders = []
    for path in _python_files():
        if path.name != "conftest.py":
            continue
        for node in ast.parse(path.read_text(), str(path)).body:
            name = getattr(node, "name", None)
            if isinstance(node, ast.ClassDef):
                offenders.append(f"{path.relative_to(TESTS.parent)}: class {name}")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not (
                    _is_fixture(node) or name.startswith(("pytest_", "_"))):
                offenders.append(f"{path.relative_to(TESTS.parent)}: def {name}")
    assert offenders == [], "move helpers to tests/support:\n" + "\n".join(offenders)


def test_the_layout_check_sees_a_conftest_import():
    """The check above reads what it must: both spellings of importing a conftest are found."""
    assert "tests.signals.conftest" in _imported_modules(ast.parse("from tests.signals.conftest import BASE"))
    assert "tests.users.conftest" in _imported_modules(ast.parse("import tests.users.conftest"))
    assert "tests.users.conftest" in _imported_modules(ast.parse("from tests.users import conftest"))[1:]
