"""tests/device/check.sh, the script for a lent GPU machine, is at least valid bash here
(it cannot run its GPU sections on this machine)."""

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).parent / "device" / "check.sh"


def test_the_device_check_parses():
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "$OUT/device-check.log" in SCRIPT.read_text()
