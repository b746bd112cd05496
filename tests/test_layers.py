"""core/ is laid out as the pipeline: each room imports only the rooms below it, with no cycle.

Every `core` import counts, at module level, inside functions and under TYPE_CHECKING: an
import inside a function still ties the rooms together, it only defers the cost.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top. A module may import its own layer and the layers below it, never one above.
LAYERS = (
    (
        "core",
        "core.paths",
        "core.files",
        "core.machine",
        "core.wording",
        "core.commands",
        "core.records",
    ),  # services
    ("core.data",),  # the dataset: finding, decoding, caching, duplicates, sources; no TensorFlow
    ("core.models",),  # configs, the registry and builders
    (
        "core.artifacts",
        "core.cli",
    ),  # the artifact store and the command-line plumbing, which know the registry
    ("core.serving",),  # one image's answer: predictor, guard, explainer, neighbours, LiteRT
    ("core.evaluation",),  # scoring saved models
    ("core.training",),  # fitting models, background runs
    ("core.studies",),  # measurements on the dataset, one artifact each
    ("core.report",),  # figures, tables, the model card and the HTML report
    ("core.__main__",),  # the table of commands' entry point
)


def layer_of(module: str) -> int:
    """The index in LAYERS of `module` (its longest matching prefix)."""
    best, rank = "", None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, rank = prefix, index
    if rank is None:
        raise KeyError(f"{module} is in no layer of tests/test_layers.py")
    return rank


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / "core").rglob("*.py"))}


def _target(module: str, name: str, known: set[str]) -> str:
    """`from module import name`: the module it loads (name itself where it is a submodule)."""
    return f"{module}.{name}" if f"{module}.{name}" in known else module


def imports(source: str, known: set[str], top_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, core module) for every core import in `source`; with `top_level_only`, only those
    run when the module loads (not in functions, classes' methods or TYPE_CHECKING blocks)."""
    tree = ast.parse(source)
    found = []

    def visit(node: ast.AST, executed: bool) -> None:
        for child in ast.iter_child_nodes(node):
            runs = executed
            deferred = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            type_only = isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            if deferred or type_only:
                runs = False
            if isinstance(child, ast.Import):
                found.extend(
                    (child.lineno, a.name, runs) for a in child.names if a.name.split(".")[0] == "core"
                )
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.split(".")[0] == "core":
                found.extend((child.lineno, _target(child.module, a.name, known), runs) for a in child.names)
            visit(child, runs)

    visit(tree, True)
    return [(line, module) for line, module, runs in found if runs or not top_level_only]


def upward_imports(module: str, source: str, known: set[str]) -> list[str]:
    """Each import of `source` (the text of `module`) that points up the layers."""
    own = layer_of(module)
    return [
        f"{module}:{line} imports {target} ({LAYERS[layer_of(target)][0]} is above {LAYERS[own][0]})"
        for line, target in imports(source, known)
        if layer_of(target) > own
    ]


def test_every_core_module_is_in_a_layer():
    for module in core_modules():
        layer_of(module)


def test_core_imports_point_down_the_layers():
    modules = core_modules()
    found = [
        line
        for name, path in modules.items()
        for line in upward_imports(name, path.read_text(), set(modules))
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("core.data.dataset", "from core.studies import audit\n"),
        ("core.models.registry", "def build():\n    from core.training.train import fit_model\n"),
        (
            "core.artifacts",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.serving import ood\n",
        ),
        ("core.evaluation.compare", "import core.report.figures\n"),
    ],
)
def test_an_upward_import_is_caught(module, source):
    assert len(upward_imports(module, source, set(core_modules()))) == 1


def test_a_downward_import_is_not_caught():
    known = set(core_modules())
    assert (
        upward_imports(
            "core.report.document", "from core.data import subsets\nfrom core import paths\n", known
        )
        == []
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle of `graph` found by a depth-first walk (one path per back edge)."""
    found, state, stack = [], {}, []

    def walk(node: str) -> None:
        state[node], _ = "open", stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt)
        state[node], _ = "done", stack.pop()

    for node in sorted(graph):
        if node not in state:
            walk(node)
    return found


def test_no_module_level_import_cycle():
    modules = core_modules()
    known = set(modules)
    graph = {
        name: {target for _, target in imports(path.read_text(), known, top_level_only=True)} - {name}
        for name, path in modules.items()
    }
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]  # the walk finds one


def test_the_overview_loads_no_training_or_study_code():
    """The first page's imports (and what they import at module level) leave training, studies
    and TensorFlow unloaded: opening the dashboard costs only what the Overview shows."""
    tree = ast.parse((ROOT / "pages" / "overview.py").read_text())
    statements = "\n".join(
        ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
    )
    check = (
        f"{statements}\nimport sys\n"
        "heavy = ('core.training', 'core.studies', 'tensorflow')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(heavy))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_no_core_file_is_over_500_lines():
    long = {
        name: n for name, path in core_modules().items() if (n := len(path.read_text().splitlines())) > 500
    }
    assert not long, f"split these by job: {long}"
