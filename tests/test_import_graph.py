"""The house rules, read from the source: which package may import which, no import circles (at
module level or inside functions), no module over 400 lines and no function over 80.

The graph is built from every import statement in hub/ (those under `if TYPE_CHECKING:` do not
run and are left out). `from hub.x import y` is an arrow to the module hub.x.y when y is one,
else to hub.x."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

HUB = Path(__file__).resolve().parent.parent / "hub"

# The domain layers, lowest first: a layer imports only itself and those below it.
DOMAIN = ("core", "crm", "channels", "campaigns")
# Who else may import what. Insight reads every domain; the simulator stands beside the hub,
# reached through the providers' base URLs (it reads their settings in channels); the web app
# and the runtime put everything together.
ALLOWED = {
    **{layer: set(DOMAIN[: i + 1]) for i, layer in enumerate(DOMAIN)},
    "insight": {*DOMAIN, "insight"},
    "simulator": {"core", "channels", "simulator"},
    "web": {*DOMAIN, "insight", "simulator", "web"},
    "runtime": {*DOMAIN, "insight", "simulator", "web", "runtime"},
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(HUB.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in HUB.rglob("*.py")
        if "migrations" not in p.relative_to(HUB).parts
    }


def _imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skipped:
            yield node


def import_graph() -> dict[str, set[str]]:
    sources = _sources()
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.split(".")[0] == "hub")
            elif node.level == 0 and node.module and node.module.split(".")[0] == "hub":
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if sub in sources else node.module)
        graph[name] = {t for t in targets if t != name and t in sources}
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "top"


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_lives_in_a_layer():
    strays = sorted(
        m for m in _sources() if _layer(m) not in ALLOWED and m not in ("hub", "hub.__main__")
    )
    assert strays == [], "every module belongs in one of the layer packages"


def test_no_import_runs_against_the_layers():
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        for target in targets
        if _layer(source) in ALLOWED and _layer(target) not in ALLOWED[_layer(source)]
    )
    assert wrong == []


def test_there_are_no_import_circles():
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_a_circle_and_its_members():
    # The check above is only as good as this: a made-up graph with one circle of three.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_a_layer_rule_catches_an_arrow_the_wrong_way():
    assert "campaigns" not in ALLOWED["crm"] and "channels" not in ALLOWED["crm"]
    assert "crm" in ALLOWED["channels"] and "channels" in ALLOWED["campaigns"]
    assert ALLOWED["core"] == {"core"}
    assert "simulator" not in ALLOWED["channels"] and "web" not in ALLOWED["campaigns"]


@pytest.mark.parametrize("path", sorted(_sources().values()), ids=lambda p: str(p.relative_to(HUB)))
def test_modules_and_functions_stay_small(path: Path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_no_module_imports_at_its_bottom():
    # An import after the code (to register routes) is how the old import circles were hidden.
    late = []
    for name, path in _sources().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        code_started = False
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if code_started:
                    late.append(f"{name}:{node.lineno}")
            elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
                code_started = True
    assert late == []


def test_deployments_made_before_the_regroup_still_find_the_app():
    # gunicorn 'hub:create_app()' is in running deployments' service files.
    import hub
    from hub.web.app import create_app

    assert hub.create_app is create_app
    with pytest.raises(AttributeError):
        hub.no_such_thing  # noqa: B018
