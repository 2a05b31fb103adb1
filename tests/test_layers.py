"""Layers point one way: a module imports only from its own layer or the ones below it.

Data flows sources -> clean -> chunk -> embed -> store -> candidates -> ... -> front end, and so do
the imports: the stores never reach back into loading, the answer path never into the CLI. A new
upward import fails here, with the line that made it. Imports inside functions count too (a lazy
import is still a dependency)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "citebot"

# lowest first; a module belongs to the first entry its dotted name starts with
LAYERS: list[tuple[str, ...]] = [
    ("citebot.index.records", "citebot.index.extras", "citebot.index.forked"),
    ("citebot.index.text", "citebot.index.encoders"),
    ("citebot.index.config", "citebot.index.duplicates"),
    ("citebot.index.sources",),
    ("citebot.index.stores",),
    ("citebot.index.build_records", "citebot.index.locking", "citebot.index.collecting", "citebot.index.loading",
     "citebot.index.embedding", "citebot.index.planning", "citebot.index.inspecting",
     "citebot.index.building"),
    ("citebot.index.reader",),
    ("citebot.index.answer",),
    ("citebot.index",),
    ("citebot.tools",),
    ("citebot.bot",),
    ("citebot",),
]


def layer_of(module: str) -> int:
    best, best_len = len(LAYERS) - 1, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, typing_too: bool = True) -> list[tuple[int, str]]:
    """(line, absolute module) for every citebot import in the file, relative ones resolved;
    without `typing_too`, those under `if TYPE_CHECKING:` (annotations only) left out."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
    out = []
    for node in ast.walk(tree):
        if not typing_too and id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
            out += [(node.lineno, t) for t in names if t.startswith("citebot")]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("citebot")]
    return out


def test_no_module_imports_from_a_layer_above_it():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        mine = layer_of(module_name(path))
        for line, target in imports_of(path):
            if layer_of(target) > mine:
                upward.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}")
    assert not upward, "imports from a layer above:\n" + "\n".join(upward)


def test_no_import_outside_the_citebot_namespace():
    """`index` and `bot` are names any project may use: everything lives under `citebot`."""
    stray = []
    for folder in (ROOT, ROOT.parent / "tests", ROOT.parent / "bench"):
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                mods = ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                        else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
                stray += [f"{path}:{node.lineno} {m}" for m in mods if m.split(".")[0] in ("index", "bot")]
    assert not stray, "\n".join(stray)


def test_the_check_sees_an_upward_import(tmp_path):
    """The check itself works: a store importing the answer path is caught."""
    assert layer_of("citebot.index.stores.local.segments") < layer_of("citebot.index.answer.pipeline")
    assert layer_of("citebot.index.duplicates") < layer_of("citebot.index.sources.files")
    assert layer_of("citebot.bot.cli") > layer_of("citebot.tools.evaluation")


def test_every_citebot_import_names_a_module_that_exists():
    """Imports inside functions run late: a moved module would fail only when its command runs."""
    import importlib.util

    missing = []
    for path in sorted(ROOT.rglob("*.py")):
        name = module_name(path)
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if node.level:
                target = ".".join(package[:len(package) - node.level + 1] + [node.module])
            else:
                target = node.module
            if not target.startswith("citebot"):
                continue
            try:
                found = importlib.util.find_spec(target) is not None
            except ModuleNotFoundError:  # a package on the way is missing
                found = False
            if not found:
                missing.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {target}")
    assert not missing, "\n".join(missing)


def test_no_import_circle():
    """Modules import each other one way: a circle (cli.py <-> cli_sources.py once) means two
    modules that are really one, or a helper in the wrong place."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for _, target in imports_of(path, typing_too=False):
            while target and target not in modules:  # `from pkg import name` names a module or a name in pkg
                target = target.rpartition(".")[0]
            if target and target != name and not (path.name == "__init__.py" and target.startswith(name + ".")):
                targets.add(target)
        graph[name] = targets
    circles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_every_module_stays_under_300_lines():
    """A module that grows past 300 lines is doing more than one job: split it by job."""
    long = {str(p.relative_to(ROOT.parent)): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) >= 300}
    assert not long, long
