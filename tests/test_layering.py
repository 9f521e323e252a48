"""The package's dependency direction, checked on the source: core and runtime stay
torch-free, export and bench never reach into training."""

import ast
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jersey_edge"


def _modules(side: str) -> Iterator[Path]:
    yield from sorted((PACKAGE / side).rglob("*.py"))


def _imported(path: Path) -> Set[str]:
    """Every jersey_edge subpackage `path` imports, at module level or inside functions."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(parts[:len(parts) - node.level])
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            found.update(n.split(".")[1] for n in names if n.startswith("jersey_edge."))
            continue
        else:
            continue
        if name.startswith("jersey_edge."):
            found.add(name.split(".")[1])
    return found


@pytest.mark.parametrize("side,forbidden", [
    ("core", {"data", "model", "train", "export", "bench", "runtime", "cli", "demo"}),
    ("runtime", {"data", "model", "train", "export", "bench", "cli", "demo"}),
    ("export", {"train", "bench", "cli", "demo"}),
    ("bench", {"train", "export", "cli", "demo"}),
])
def test_dependency_direction(side, forbidden):
    wrong = {str(p.relative_to(PACKAGE)): sorted(_imported(p) & forbidden)
             for p in _modules(side) if _imported(p) & forbidden}
    assert wrong == {}


def test_core_and_runtime_import_with_torch_unimportable():
    script = ("import sys; sys.modules['torch'] = None; "
              "import jersey_edge.core, jersey_edge.runtime; "
              "import jersey_edge.core.digits, jersey_edge.core.sequence_folders; "
              "print(sorted(m for m in sys.modules if m.startswith('torch') and sys.modules[m]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
