"""How `jersey-edge` (cli.py) meets the terminal: exit codes, one-line errors and warnings,
Ctrl-C and SIGTERM, logging, and the comma-separated values some options take.

Every library error is a `JerseyEdgeError`: `run` turns it into one line on stderr and exit
code 2, and so does `Commands` with usage errors (an unknown option, a value outside an
option's choices). Anything else is a bug: one line and exit code 3. Ctrl-C: one line
("interrupted", or what the interrupted command says it saved) and 130. --debug shows the
traceback instead of the one line.
"""

import contextlib
import logging
import signal
import sys
import threading
import warnings
from typing import Any, Iterator, List, NoReturn, Optional, Sequence

import typer
from PIL import Image
from typer.core import TyperGroup

from .core.errors import InputError, JerseyEdgeError

try:  # typer vendors click from 0.26 on
    from typer._click.exceptions import UsageError
except ImportError:  # older typer runs on click itself
    from click.exceptions import UsageError  # type: ignore[assignment, no-redef]


class Commands(TyperGroup):
    """The root command group: Ctrl-C inside a command ends in one line and exit 130
    (typer would exit 130 without a word); a usage error, the root's or a command's, in one
    line and exit 2 (typer would draw a box around it, under the usage)."""

    def parse_args(self, ctx: Any, args: List[str]) -> List[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # one that says more (what was saved) says it
            fail(str(exc) or "interrupted", 130)
        except UsageError as exc:
            _usage_error(exc)


def _usage_error(exc: Any) -> NoReturn:
    if type(exc).__name__ == "NoArgsIsHelpError":  # no arguments: typer shows the help
        raise exc
    where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
    fail(f"{exc.format_message().rstrip('.')}{where}", exc.exit_code)


def run(app: typer.Typer, args: Sequence[str]) -> None:
    """Run the command line `args`; what ends it becomes an exit code (see the module)."""
    args = list(args)
    debug = "--debug" in args
    # Our own pixel limit refuses such frames with one line; Pillow's warning would be a second.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    # A library warning (e.g. loading a degraded export) is one line, like errors are.
    warnings.formatwarning = one_line_warning
    try:
        app(args=args, standalone_mode=True)
    except JerseyEdgeError as exc:
        if debug:
            raise
        fail(str(exc), 2)
    except KeyboardInterrupt as exc:  # outside a command, e.g. while typer parses arguments
        fail(str(exc) or "interrupted", 130)
    except Exception as exc:  # a bug: still one line, the traceback is a --debug away
        if debug:
            raise
        fail(f"internal error ({type(exc).__name__}): {exc}; re-run with --debug", 3)


def setup_logging(debug: bool) -> None:
    """Only our own logger speaks at INFO (DEBUG with --debug), on stderr: libraries
    (onnxscript, ORT quantization) stay at their WARNING default instead of flooding the
    terminal."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log = logging.getLogger("jersey_edge")
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.INFO)


def show_version(show: bool) -> None:
    """--version: print the version and end."""
    if show:
        from .checks import package_version

        typer.echo(f"jersey-edge {package_version()}")
        raise typer.Exit()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service stop, `kill`) ends a long command as Ctrl-C does, so that it can
    still write what it has; the previous handler comes back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def names(text: Optional[str]) -> Optional[List[str]]:
    """A comma-separated list of names; None stays None (the option was not given)."""
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


def integers(text: Optional[str], option: str) -> Optional[List[int]]:
    """A comma-separated list of integers; InputError naming `option` for anything else."""
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"{option} takes comma-separated integers, got {text!r}") from None


def one_line(message: str) -> str:
    return " ".join(message.split())


def one_line_warning(message: Any, category: Any, *_: Any, **__: Any) -> str:
    """`warnings.formatwarning` for the terminal: `warning: <message>`, on one line."""
    return f"warning: {one_line(str(message))}\n"


def fail(message: str, code: int) -> NoReturn:
    """`error: <message>` on one line of stderr, and exit with `code`."""
    typer.echo(f"error: {one_line(message)}", err=True)
    raise SystemExit(code) from None
