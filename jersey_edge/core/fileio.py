"""Atomic file writes: a crash or SIGKILL never leaves a half-written file under the real name.

Also the one careful reader: artifacts are read whole, from regular files only.
"""

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Dict, Iterator, List, Optional, Union

from .errors import InputError

PathLike = Union[str, Path]

# O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class NotRegularFileError(OSError):
    """A path that should hold a file is a link, FIFO, folder or device instead."""


@contextlib.contextmanager
def atomic_path(target: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success fsync and rename it into place.

    The file gets the mode an ordinary write would give it (an existing target's, else the
    umask's), not mkstemp's 0600; the folder is fsynced so the rename survives a power cut.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(_mode_for(target))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_temporaries(folder: PathLike) -> List[Path]:
    """Delete what `atomic_path` leaves behind when its process is killed mid-write
    (`.<name>.<random>.tmp`) in `folder`; returns what was removed. Call it only where no
    other process is writing to the folder (a command that owns it, at its start)."""
    removed = []
    for path in Path(folder).glob(".*.tmp"):
        if path.is_file() and not path.is_symlink() and path.name.count(".") >= 3:
            path.unlink()
            removed.append(path)
    return removed


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask, read from /proc where Linux shows it (thread-safe); elsewhere
    reading it means setting it, and it is put back at once."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def fsync_dir(folder: PathLike) -> None:
    """Make renames in `folder` durable; a no-op where directories cannot be fsynced."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(target: PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: PathLike, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def read_regular_file(path: PathLike) -> bytes:
    """All bytes of `path`, which must be a regular file itself, not a link to one.

    Checked before opening, for a clear message, and again on the opened descriptor
    (O_NOFOLLOW, fstat), so nothing can be swapped in between; a FIFO is refused instead
    of blocking the reader.
    """
    with open_regular_file(path) as handle:
        return handle.read()


@contextlib.contextmanager
def open_regular_file(path: PathLike) -> Iterator[BinaryIO]:
    """`path` opened for reading under `read_regular_file`'s checks, to read it in pieces
    (a tracks file of a whole match is read a line at a time)."""
    _require_regular(os.lstat(path).st_mode, path)
    fd = os.open(path, _READ_FLAGS)
    with open(fd, "rb") as handle:
        _require_regular(os.fstat(fd).st_mode, path)
        os.set_blocking(fd, True)
        yield handle


def _require_regular(mode: int, path: PathLike) -> None:
    if stat.S_ISREG(mode):
        return
    kinds = ((stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISDIR, "folder"))
    kind = next((name for test, name in kinds if test(mode)), "special file")
    raise NotRegularFileError(f"{path} is a {kind}, not a regular file")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path, or (hard links, bind
    mounts) the same device and inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: Dict[str, Optional[PathLike]],
                  inputs: List[Optional[PathLike]]) -> None:
    """Refuse, before any work, an output that would overwrite one of the command's inputs:
    the same file as an input file, or a file inside an input folder (an export's graphs).
    `outputs` maps each option's name to the path given (None: not given)."""
    given = [Path(p) for p in inputs if p is not None]
    for option, output in outputs.items():
        if output is None:
            continue
        target = Path(output)
        for source in given:
            inside = source.is_dir() and target.exists() and source.resolve() in (
                target.resolve().parents)
            if inside or (not source.is_dir() and _same_file(target, source)):
                raise InputError(f"{option} {target} would overwrite the input {source}; "
                                 "write it somewhere else")
