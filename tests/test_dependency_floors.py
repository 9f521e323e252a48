"""Minimum versions in pyproject.toml that close known holes: torch < 2.6 lets a crafted
checkpoint run code despite weights_only=True (CVE-2025-32434); Pillow < 10.3 has decoder
CVEs. Floors only: no upper pins."""

from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"
FLOORS = {"torch": "2.6", "torchvision": "0.21", "pillow": "10.3"}


def requirements() -> list:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    groups = [project["dependencies"], *project["optional-dependencies"].values()]
    return [Requirement(line) for group in groups for line in group]


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_security_floors(name):
    found = [r for r in requirements() if r.name.lower() == name]
    assert found, f"{name} is not a dependency"
    for requirement in found:
        specs = list(requirement.specifier)
        assert [s.operator for s in specs] == [">="], requirement
        assert Version(specs[0].version) >= Version(FLOORS[name]), requirement
