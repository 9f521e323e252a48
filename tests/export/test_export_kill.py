"""SIGKILL during export never leaves a folder that a later command accepts half-written."""

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jersey_edge.export.pipeline import ExportOptions, export_model
from jersey_edge.runtime.manifest import load_manifest

EXPORT = """
import sys
from pathlib import Path
from jersey_edge.export.pipeline import ExportOptions, export_model
export_model(Path(sys.argv[1]), Path(sys.argv[2]), options=ExportOptions(
    fp16=True, int8=True, calib_size=16, golden_size=4, progress=False))
"""


def verify_all(folder: Path) -> None:
    manifest = load_manifest(folder)
    for name in manifest.files:
        manifest.verify(name)


@pytest.mark.slow
def test_sigkill_mid_export_keeps_the_previous_export_whole(exported, tmp_path):
    out = tmp_path / "artifacts"
    shutil.copytree(exported.out, out)
    rng = random.Random(7)
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", EXPORT, str(exported.checkpoint),
                                 str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.0, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        verify_all(out)  # the old (or, if it finished, the new) export, complete
    export_model(exported.checkpoint, out, options=ExportOptions(golden_size=4, progress=False))
    verify_all(out)
    assert not [p for p in tmp_path.iterdir() if p.name != "artifacts"]
