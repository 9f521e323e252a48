"""Atomic file writes: a crash or SIGKILL never leaves a half-written file under the real name.

Also the one careful reader: artifacts are read whole, from regular files only.
"""

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator, Union

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
    _require_regular(os.lstat(path).st_mode, path)
    fd = os.open(path, _READ_FLAGS)
    with open(fd, "rb") as handle:
        _require_regular(os.fstat(fd).st_mode, path)
        return handle.read()


def _require_regular(mode: int, path: PathLike) -> None:
    if stat.S_ISREG(mode):
        return
    kinds = ((stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISDIR, "folder"))
    kind = next((name for test, name in kinds if test(mode)), "special file")
    raise NotRegularFileError(f"{path} is a {kind}, not a regular file")
