"""The device code (runtime and the core it imports) stays importable on Python 3.8
(JetPack 5), checked without a 3.8 interpreter.

vermin checks syntax and standard-library use. Its `--eval-annotations` switch is all or
nothing: off, it misses `def f(x: list[int])`, which 3.8 evaluates at import and fails on;
on, it also flags annotations 3.8 never evaluates (inside function bodies, or anywhere under
`from __future__ import annotations`). So vermin runs with it off, and the annotations 3.8
does evaluate are checked here precisely for the two post-3.8 forms: `X | Y` and
subscripted builtins (`list[int]`, `collections.OrderedDict[...]`).
"""

import ast
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "jersey_edge"
DEVICE_CODE = (PACKAGE / "core", PACKAGE / "runtime")
# Generic only from 3.9 on (PEP 585); typing.List & co. are the 3.8 spellings.
PEP585 = {"list", "dict", "tuple", "set", "frozenset", "type", "deque", "defaultdict",
          "OrderedDict", "Counter", "ChainMap"}


# vermin has no `python -m` entry point: use the script installed beside this interpreter.
VERMIN = shutil.which("vermin", path=str(Path(sys.executable).parent)) or shutil.which("vermin")


@pytest.mark.skipif(VERMIN is None, reason="vermin is not installed")
def test_vermin_runtime_targets_python_38():
    result = subprocess.run(
        [str(VERMIN), "-t=3.8-", "--no-tips", "--violations", *map(str, DEVICE_CODE)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def evaluated_annotations(tree: ast.Module) -> Iterator[ast.expr]:
    """Annotations Python 3.8 evaluates: signatures, and names annotated outside functions."""
    if any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
           and any(a.name == "annotations" for a in n.names) for n in tree.body):
        return
    local = {id(n) for f in ast.walk(tree) if isinstance(f, FUNCTIONS)
             for n in ast.walk(f) if isinstance(n, ast.AnnAssign)}
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and id(node) not in local:
            yield node.annotation
        elif isinstance(node, FUNCTIONS):
            args = node.args
            every = args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
            yield from (a.annotation for a in every if a is not None and a.annotation)
            if node.returns is not None:
                yield node.returns


def post_38_forms(annotation: ast.expr) -> List[str]:
    found = []
    for node in ast.walk(annotation):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            found.append("X | Y")
        elif isinstance(node, ast.Subscript):
            base = node.value
            name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
            if name in PEP585:
                found.append(f"{name}[...]")
    return found


def test_evaluated_annotations_are_python_38():
    problems = []
    for path in sorted(p for root in DEVICE_CODE for p in root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for annotation in evaluated_annotations(tree):
            for form in post_38_forms(annotation):
                problems.append(f"{path.relative_to(PACKAGE)}:{annotation.lineno}: {form}")
    assert not problems, "annotations Python 3.8 cannot evaluate:\n" + "\n".join(problems)


def test_the_annotation_check_has_teeth():
    tree = ast.parse(
        "from collections import OrderedDict\n"
        "def f(x: list[int], y: 'int | None') -> int | None: ...\n"
        "class A:\n"
        "    cache: OrderedDict[str, int]\n"
        "    def g(self) -> None:\n"
        "        self.ok: OrderedDict[str, int] = OrderedDict()\n"  # never evaluated
    )
    forms = [f for a in evaluated_annotations(tree) for f in post_38_forms(a)]
    assert sorted(forms) == ["OrderedDict[...]", "X | Y", "list[...]"]
