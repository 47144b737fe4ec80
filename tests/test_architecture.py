"""The package's shape: dependencies point one way, modules and functions stay small, the wheel holds the package only.

Layers, lowest first: a module imports only from its own layer or lower ones (imports under
`if TYPE_CHECKING:` are type hints, not dependencies). The two documented upward calls are the model's
conveniences `MixWaveUNet.mix` (-> mixing) and `generate_model_card` (-> card); no import, at the top of a
module or inside a function, closes a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mixwave_hf"
LAYERS = (
    {"errors", "slots", "files", "resources", "stft_loss", "bleed", "limiter"},
    {"audio", "loudness"},
    {"tracks", "metrics", "song_files", "song_measures", "results"},
    {"data"},
    {"model", "model_files", "model_options"},
    {"streaming"},
    {"mixing", "file_mixing"},
    {"baselines", "evaluate", "card", "publish", "training", "demo", "cli"},
)
UPWARD_CALLS = {("model", "mixing"), ("model", "card")}
#: "~400 lines" per module, "~60" per function (docstrings included for modules, not for functions).
MAX_MODULE_LINES = 440
MAX_FUNCTION_LINES = 60


def unit(module: str) -> str:
    """mixwave_hf.data.loader -> "data", mixwave_hf.audio -> "audio": what the layers list."""
    return module.split(".")[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(tree: ast.AST) -> set[str]:
    """Every mixwave_hf module imported anywhere in `tree` (functions included), except under TYPE_CHECKING."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mixwave_hf."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("mixwave_hf."))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def package_modules() -> dict[str, ast.AST]:
    return {module_name(path): ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_is_in_a_layer():
    layered = set().union(*LAYERS)
    assert {unit(name) for name in package_modules() if name != "mixwave_hf"} <= layered


def test_dependencies_point_down_the_layers():
    rank = {name: index for index, layer in enumerate(LAYERS) for name in layer}
    upward = []
    for name, tree in package_modules().items():
        if name == "mixwave_hf":  # the package's re-exports
            continue
        for imported in runtime_imports(tree):
            edge = (unit(name), unit(imported))
            if rank[edge[1]] > rank[edge[0]] and edge not in UPWARD_CALLS:
                upward.append(f"{name} imports {imported}")
    assert not upward, upward


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports at run time, in functions too (`from mixwave_hf.x import y`
    counts as mixwave_hf.x.y where that is a module). A package's imports of its own modules are left out:
    Python runs its __init__ before any of them, so they close no cycle."""
    modules = package_modules()
    graph = {}
    for name, tree in modules.items():
        imported = set()
        for module, names in runtime_import_names(tree):
            submodules = {f"{module}.{each}" for each in names} & modules.keys()
            imported |= submodules or {module}
        graph[name] = {module for module in imported & modules.keys()
                       if module != name and not module.startswith(f"{name}.")}
    return graph


def runtime_import_names(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) for every package import in `tree`, except under TYPE_CHECKING."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mixwave_hf":
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names if alias.name.split(".")[0] == "mixwave_hf")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` (module names, the first repeated at the end), or None."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return None
        for target in sorted(graph.get(name, ())):
            cycle = visit(target, [*path, name])
            if cycle:
                return cycle
        done.add(name)
        return None

    return next((cycle for name in sorted(graph) if (cycle := visit(name, []))), None)


def test_no_import_cycles_lazy_imports_included():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_check_sees_a_function_level_import():
    graph = import_graph()
    graph["mixwave_hf.slots"] = graph["mixwave_hf.slots"] | {"mixwave_hf.mixing"}
    assert find_cycle(graph) is not None


def test_data_depends_only_on_slots_audio_and_itself():
    allowed = {"data", "errors", "slots", "audio", "loudness", "tracks", "files", "resources"}
    outside = [f"{name} imports {imported}" for name, tree in package_modules().items()
               if name != "mixwave_hf" and unit(name) == "data"
               for imported in runtime_imports(tree) if unit(imported) not in allowed]
    assert not outside, outside


def test_modules_and_functions_stay_small():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        if len(source.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(PACKAGE.parent)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                docstring = ast.get_docstring(node, clean=False)
                body_start = node.body[1].lineno if docstring is not None and len(node.body) > 1 else node.lineno
                length = node.end_lineno - body_start + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, too_long
