"""Every cache is invalidated through a Django signal: no view, console page, service or selector drops a cached
entry itself. Read from the source (AST), so a new direct call fails here before any reader sees a stale copy:

* only an app's ``cache.py`` talks to a cache backend (``tradesignals.kernel.cache``, ``django.core.cache``,
  ``django_redis``); everything else goes through that module;
* an *invalidator* — a function of ``cache.py`` that deletes an entry or bumps a generation, directly or through
  another one — is referred to only by the same app's ``receivers.py``, and there only inside a Django-signal
  receiver (``@receiver(...)`` or ``<signal>.connect(...)``) or a helper such a receiver calls. Not from a bus
  event handler: those call services, which send the Django signal after their commit.

The behaviour side (a receiver really does the work) is in tests/users/test_api_me.py and
tests/signals/test_events.py.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("tradesignals.kernel.cache", "django.core.cache", "django_redis")
# Method names through which a cache drops what it holds.
DROPPING = {"delete", "delete_many", "bump", "bump_many", "clear"}
# Functions of a cache module that drop something that is not a cached read, each with the reason.
NOT_INVALIDATION: dict[tuple[str, str], str] = {}


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def _called_names(function: ast.AST) -> set[str]:
    return {node.func.id for node in ast.walk(function)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}


def invalidators(app: str, cache_module: Path) -> set[str]:
    """The functions of ``cache_module`` that drop cached entries, directly or by calling one that does."""
    functions = _functions(_parse(cache_module))
    dropping = {name for name, function in functions.items()
                if any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                       and node.func.attr in DROPPING for node in ast.walk(function))}
    dropping -= {name for (owner, name) in NOT_INVALIDATION if owner == app}
    while True:
        grown = dropping | {name for name, function in functions.items() if _called_names(function) & dropping}
        if grown == dropping:
            return dropping
        dropping = grown


class _References(ast.NodeVisitor):
    """Where a module refers to ``targets`` (``{dotted cache module: invalidator names}``), with the enclosing
    top-level function (``None`` at module level); also every import of a cache backend."""

    def __init__(self, targets: dict[str, set[str]]):
        self.targets = targets
        self.modules: dict[str, str] = {}    # local name -> cache module it is bound to
        self.functions: dict[str, str] = {}  # local name -> "module.function" of an invalidator
        self.found: list[tuple[int, str, str | None]] = []
        self.backends: list[tuple[int, str]] = []
        self._scope: str | None = None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.startswith(BACKENDS):
                self.backends.append((node.lineno, alias.name))
            if alias.name in self.targets and alias.asname:
                self.modules[alias.asname] = alias.name

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            dotted = f"{module}.{alias.name}"
            if module.startswith(BACKENDS) or dotted.startswith(BACKENDS):
                self.backends.append((node.lineno, dotted))
            local = alias.asname or alias.name
            if dotted in self.targets:
                self.modules[local] = dotted
            elif module in self.targets and alias.name in self.targets[module]:
                self.functions[local] = dotted

    def _enter(self, node) -> None:
        outer, self._scope = self._scope, self._scope or node.name
        self.generic_visit(node)
        self._scope = outer

    visit_FunctionDef = visit_AsyncFunctionDef = _enter

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.functions:
            self.found.append((node.lineno, self.functions[node.id], self._scope))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        base = _dotted(node.value)
        module = self.modules.get(base, base)
        if module in self.targets and node.attr in self.targets[module]:
            self.found.append((node.lineno, f"{module}.{node.attr}", self._scope))
            return
        self.generic_visit(node)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def receiver_functions(tree: ast.Module) -> set[str]:
    """Top-level functions that run as Django-signal receivers, and the module's functions they call."""
    functions = _functions(tree)
    roots = set()
    for name, function in functions.items():
        for decorator in function.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if (_dotted(target) or "").split(".")[-1] == "receiver":
                roots.add(name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect"
                and node.args and isinstance(node.args[0], ast.Name)):
            roots.add(node.args[0].id)
    reached, todo = set(), [name for name in roots if name in functions]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(callee for callee in _called_names(functions[name]) if callee in functions)
    return reached


def violations(apps_root: Path, package: str = "apps") -> list[str]:
    """Every way a module under ``apps_root`` invalidates a cache other than through a Django-signal receiver."""
    targets = {f"{package}.{cache.parent.name}.cache": invalidators(cache.parent.name, cache)
               for cache in sorted(apps_root.glob("*/cache.py"))}
    problems = []
    for path in sorted(apps_root.rglob("*.py")):
        relative = path.relative_to(apps_root)
        app, module = relative.parts[0], ".".join(relative.with_suffix("").parts)
        tree = _parse(path)
        visitor = _References(targets)
        visitor.visit(tree)
        where = f"{package}/{relative}"
        if relative.parts[1:] != ("cache.py",):
            problems += [f"{where}:{line} imports the cache backend {name} (only {package}/{app}/cache.py may)"
                         for line, name in visitor.backends]
        if relative.parts[1:] == ("cache.py",) and not visitor.found:
            continue
        allowed = receiver_functions(tree) if relative.parts[1:] == ("receivers.py",) else set()
        own_cache = f"{package}.{app}.cache"
        for line, target, scope in visitor.found:
            if module == f"{app}.cache" and target.startswith(own_cache + "."):
                continue  # a cache module composing its own invalidators
            if target.startswith(own_cache + ".") and scope in allowed:
                continue
            context = f"in {scope}()" if scope else "at module level"
            problems.append(f"{where}:{line} {context} calls the invalidator {target} — send a Django signal "
                            f"from a service and invalidate in a receiver of {package}/{app}/receivers.py")
    return problems


def test_no_view_or_service_invalidates_a_cache_directly():
    assert violations(ROOT / "apps") == []


def test_the_check_knows_every_apps_invalidators():
    """Guards the check itself: it must see the invalidators the apps have (else it passes on nothing)."""
    assert invalidators("users", ROOT / "apps" / "users" / "cache.py") == {"me_invalidate"}
    assert invalidators("signals", ROOT / "apps" / "signals" / "cache.py") == {"invalidate", "invalidate_many",
                                                                                    "invalidate_owner"}
    for (app, name), _reason in NOT_INVALIDATION.items():
        assert name in _functions(_parse(ROOT / "apps" / app / "cache.py")), f"stale exception {app}.{name}"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "apps" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "apps"


CACHE = """
    from tradesignals.kernel.cache import get_cache

    def thing_get(key):
        return get_cache().get(key)

    def thing_forget(key):
        get_cache().delete(key)

    def everything_forget(keys):
        for key in keys:
            thing_forget(key)
"""


def test_the_check_finds_direct_invalidation(tmp_path):
    apps = _write(tmp_path, {
        "demo/cache.py": CACHE,
        "demo/services.py": """
            from apps.demo import cache

            def thing_update(key):
                cache.everything_forget([key])
        """,
        "demo/api/views.py": """
            from apps.demo.cache import thing_forget as forget

            def view(request):
                forget("x")
        """,
        "demo/selectors.py": """
            from django.core.cache import caches

            def thing_list():
                return caches["default"].get("k")
        """,
        "demo/receivers.py": """
            from django.dispatch import receiver
            from apps.demo import cache, services
            from tradesignals.kernel import events

            def _drop(key):
                cache.thing_forget(key)

            @receiver(services.thing_changed)
            def on_thing_changed(sender, key, **kwargs):
                _drop(key)

            def on_other_apps_event(event):
                cache.thing_forget(event.data["key"])

            events.subscribe("other.changed", on_other_apps_event, app="demo")
        """,
    })
    found = violations(apps)
    assert len(found) == 4, found
    assert any("demo/services.py" in line and "thing_update()" in line and "everything_forget" in line
               for line in found)
    assert any("demo/api/views.py" in line and "view()" in line for line in found)
    assert any("demo/selectors.py" in line and "django.core.cache" in line for line in found)
    assert any("demo/receivers.py" in line and "on_other_apps_event()" in line for line in found)


def test_the_check_accepts_invalidation_in_a_connected_receiver(tmp_path):
    apps = _write(tmp_path, {
        "demo/cache.py": CACHE,
        "demo/receivers.py": """
            from apps.demo import services
            from apps.demo.cache import thing_forget

            def on_thing_changed(sender, key, **kwargs):
                thing_forget(key)

            services.thing_changed.connect(on_thing_changed, dispatch_uid="demo.cache")
        """,
    })
    assert violations(apps) == []
