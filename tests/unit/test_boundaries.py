"""The model API is the only door between engine and application (no server needed).

Engine-side modules (everything under growth_sim/ but a model's package) import nothing from a model package,
only `growth_sim.models` (the registry) and `growth_sim.models.api`. A model package imports, of growth-sim, only
the API, the primitives it generates with (`growth_sim.generate`, `growth_sim.timeline.schedule`), the errors and
the resources, and its own modules. Imports are read with `ast`, wherever they are (functions and
``TYPE_CHECKING`` blocks included), so nothing is imported to check them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import growth_sim

PACKAGE = Path(growth_sim.__file__).resolve().parent
MODEL_ALLOWED = ("growth_sim.models.api", "growth_sim.generate", "growth_sim.timeline.schedule", "growth_sim.errors",
                 "growth_sim.resources")


def _imports(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of everything `path` imports; ``from a import b`` gives ``a.b`` (a module or a name)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path) -> list[str]:
    """Every import across the boundary in the package at `root` (a ``growth_sim`` folder)."""
    models = root / "models"
    model_packages = sorted(p.name for p in models.iterdir() if (p / "__init__.py").is_file()) \
        if models.is_dir() else []
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        own = parts[2] if len(parts) > 3 and parts[1] == "models" and parts[2] in model_packages else None
        where = path.relative_to(root.parent)
        for line, name in _imports(path, module):
            if not _within(name, "growth_sim"):
                continue
            if own is None:
                crossing = next((m for m in model_packages if _within(name, f"growth_sim.models.{m}")), None)
                if crossing:
                    found.append(f"{where}:{line}: the engine imports {name} (model {crossing}); use the model API")
            elif not any(_within(name, p) for p in (*MODEL_ALLOWED, f"growth_sim.models.{own}")):
                found.append(f"{where}:{line}: model {own} imports {name}; a model uses growth_sim.models.api "
                             "and the primitives only")
    return found


def test_engine_and_models_meet_only_through_the_api():
    assert violations(PACKAGE) == []


def test_the_package_has_models_and_engine_modules_to_check():
    """The check above runs over the real tree: TaskPilot is a model package, the engine imports the API."""
    assert (PACKAGE / "models" / "taskpilot" / "__init__.py").is_file()
    engine_names = {name for _, name in _imports(PACKAGE / "engine" / "session.py", "growth_sim.engine.session")}
    assert "growth_sim.models.api.Widths" in engine_names


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in {"growth_sim/__init__.py": "", "growth_sim/models/__init__.py": "", **files}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root / "growth_sim"


def test_an_engine_import_of_a_model_is_refused(tmp_path: Path):
    root = _tree(tmp_path, {
        "growth_sim/models/shop/__init__.py": "from growth_sim.models.api import Widths\n",
        "growth_sim/models/shop/rows.py": "from growth_sim.generate.batch import Batch\nfrom . import __name__\n",
        "growth_sim/engine/run.py": "from growth_sim.models import model_module\n"
                                    "from growth_sim.models.api import Widths\n"
                                    "def f():\n    from growth_sim.models.shop.rows import Batch\n",
        "growth_sim/observe/reads.py": "import growth_sim.models.shop\nfrom growth_sim.models import shop\n",
        "growth_sim/cli/x.py": "from ..models.shop import rows\n",
    })
    assert violations(root) == [
        "growth_sim/cli/x.py:1: the engine imports growth_sim.models.shop.rows (model shop); use the model API",
        "growth_sim/engine/run.py:4: the engine imports growth_sim.models.shop.rows.Batch (model shop); "
        "use the model API",
        "growth_sim/observe/reads.py:1: the engine imports growth_sim.models.shop (model shop); use the model API",
        "growth_sim/observe/reads.py:2: the engine imports growth_sim.models.shop (model shop); use the model API",
    ]


def test_a_model_importing_the_engine_is_refused(tmp_path: Path):
    root = _tree(tmp_path, {
        "growth_sim/models/shop/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                              "    from growth_sim.timeline.schedule import Schedule\n",
        "growth_sim/models/shop/rows.py": "from growth_sim.engine.run import Run\nfrom growth_sim.models import names\n"
                                          "from growth_sim.models.blog import posts\nfrom growth_sim import timeline\n",
        "growth_sim/models/blog/__init__.py": "",
    })
    assert [v.split(": ", 1)[1] for v in violations(root)] == [
        f"model shop imports {name}; a model uses growth_sim.models.api and the primitives only"
        for name in ("growth_sim.engine.run.Run", "growth_sim.models.names", "growth_sim.models.blog.posts",
                     "growth_sim.timeline")]


def test_the_example_model_outside_the_package_keeps_to_the_api():
    """tests/tiny_model (docs/models.md's example) is a model outside growth-sim: the same rule holds for it."""
    path = Path(__file__).parents[1] / "tiny_model" / "__init__.py"
    names = [name for _, name in _imports(path, "tiny_model") if _within(name, "growth_sim")]
    assert names and all(any(_within(name, p) for p in MODEL_ALLOWED) for name in names), names
