"""Docstrings name only what exists: every backticked `name(` or `module.name(` resolves.

A call named in a module's, class's or function's docstring must be importable: a name of that module
(or of the class the docstring belongs to), a top-level name of any `mixwave_hf` module, a builtin, or,
qualified, an attribute of a `mixwave_hf` module (`metrics.score(`, `mixwave_hf.mixing.mix_tracks(`)
or of an importable library (`torch.inference_mode(`, `datasets.load_dataset(`).
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import importlib
import re
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "mixwave_hf"
CALL = re.compile(r"`([A-Za-z_][\w.]*)\(")
MISSING = object()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py")) if "__pycache__" not in path.parts}


def docstrings(tree: ast.Module) -> list[tuple[int, str, ast.ClassDef | None, str]]:
    """(line, where, enclosing class node or None, docstring) of the module and of every class and function."""
    found = [(1, "module", None, ast.get_docstring(tree, clean=False))]

    def visit(node: ast.AST, prefix: str, owner: ast.ClassDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                where = f"{prefix}{child.name}"
                cls = child if isinstance(child, ast.ClassDef) else owner
                found.append((child.lineno, where, cls, ast.get_docstring(child, clean=False)))
                visit(child, where + ".", cls)

    visit(tree, "", None)
    return [(line, where, cls, text) for line, where, cls, text in found if text]


def member(value: object, name: str) -> object:
    """getattr, also finding dataclass fields without defaults and annotated class attributes."""
    found = getattr(value, name, MISSING)
    declared = isinstance(value, type) and any(
        name in vars(klass).get("__annotations__", {}) for klass in value.__mro__)  # dataclass fields too
    return None if found is MISSING and declared else found  # None: exists, but has no value to look into


def follow(value: object, names: list[str]) -> bool:
    for name in names:
        if value is None:
            return False
        value = member(value, name)
        if value is MISSING:
            return False
    return True


def resolves(dotted: str, module: ModuleType, cls: type | None, modules: dict[str, ModuleType]) -> bool:
    head, *rest = dotted.split(".")
    roots = [cls] if cls is not None else []
    roots += [module, *modules.values()]
    if any(member(root, head) is not MISSING and follow(member(root, head), rest) for root in roots):
        return True
    if not rest:
        return hasattr(builtins, head)
    for cut in range(len(rest), 0, -1):  # the longest module prefix: mixwave_hf's (by any suffix), then libraries
        prefix, names = ".".join([head, *rest[: cut - 1]]), rest[cut - 1 :]
        if any((name == prefix or name.endswith("." + prefix)) and follow(candidate, names)
               for name, candidate in modules.items()):
            return True
        try:
            library = importlib.import_module(prefix)
        except ImportError:
            continue
        if follow(library, names):
            return True
    return False


def test_backticked_calls_in_docstrings_resolve():
    paths = package_modules()
    modules, unresolved = {}, []
    for name in paths:
        try:
            modules[name] = importlib.import_module(name)
        except ImportError as error:
            unresolved.append(f"{paths[name].relative_to(PACKAGE_DIR.parent)}: cannot be imported ({error})")
    for name, module in modules.items():
        path = paths[name]
        for line, where, class_node, text in docstrings(ast.parse(path.read_text())):
            cls = getattr(module, class_node.name, None) if class_node is not None else None
            for dotted in CALL.findall(text):
                entry = f"{path.relative_to(PACKAGE_DIR.parent)}:{line} {where}: `{dotted}(`"
                if entry not in unresolved and not resolves(dotted, module, cls, modules):
                    unresolved.append(entry)
    assert not unresolved, "docstrings name calls that do not resolve:\n" + "\n".join(unresolved)


def test_the_checker_tells_real_names_from_made_up_ones():
    from mixwave_hf import baselines, evaluate

    modules = {"mixwave_hf.evaluate": evaluate, "mixwave_hf.baselines": baselines}
    assert resolves("evaluate", evaluate, None, modules) and resolves("baselines.plain_sum", evaluate, None, modules)
    assert resolves("function", evaluate, baselines.BaselineInfo, modules)  # a dataclass field
    assert resolves("len", evaluate, None, modules) and resolves("numpy.percentile", evaluate, None, modules)
    assert not resolves("evaluate_dataset", evaluate, None, modules)
    assert not resolves("baselines.no_such_mix", evaluate, None, modules)
    assert not resolves("numpy.no_such_function", evaluate, None, modules)
    assert dataclasses.is_dataclass(baselines.BaselineInfo)
