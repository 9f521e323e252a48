"""Installed package versions, read from package metadata: nothing is imported, so asking
for torch's or TensorRT's version never loads them. Manifests and bench reports use this."""

from importlib import metadata
from typing import Dict, Optional, Sequence


def installed_versions(names: Sequence[str]) -> Dict[str, Optional[str]]:
    """Distribution name -> its version, None where it is not installed."""
    found: Dict[str, Optional[str]] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found
