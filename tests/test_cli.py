import subprocess
import sys

from typer.testing import CliRunner

from jersey_edge.cli import app

COMMANDS = ("data", "train", "evaluate", "export", "bench", "predict")


def test_help_lists_the_contract_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "jersey_edge", *args],
                          capture_output=True, text=True, timeout=120)


def test_library_errors_are_one_line_and_exit_2(tmp_path):
    result = run_cli("predict", str(tmp_path / "missing"), "--artifacts", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
