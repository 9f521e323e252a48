"""Build an artifacts folder beside its destination, then swap it into place in one step.

A reader (or a SIGKILL) must never see a half-exported folder under the real name: the
export writes into `.<name>.tmp-XXXX` next to `out`, and only a complete folder is moved in.
On Linux the swap is one `renameat2(RENAME_EXCHANGE)` call, so at every instant `out` holds
either the old complete export or the new one. Where that call is missing (other OSes, old
glibc, file systems without it) it falls back to two renames, which leave a window of a few
microseconds in which `out` does not exist. Stray `.tmp-`/`.old-` folders of an earlier,
killed export are removed by the next export to the same destination. A destination that
is a symbolic link is followed: the folder it points to is replaced, the link stays. Export
replaces only a previous export (a folder with a manifest) or an empty folder
(`check_destination`).
"""

import contextlib
import ctypes
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from ..core.errors import InputError
from ..core.fileio import current_umask, fsync_dir
from ..runtime.artifacts import MANIFEST

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# What mkdtemp puts after the prefix: no dot, so `.a.tmp-b.tmp-x` (an export to `a.tmp-b`)
# is never taken for a stray of an export to `a`.
_RANDOM_SUFFIX = re.compile(r"[a-z0-9_]+")


def _staging_prefix(out: Path) -> str:
    return f".{out.name}.tmp-"


def _retired_prefix(out: Path) -> str:
    return f".{out.name}.old-"


def _is_stray(name: str, out: Path) -> bool:
    """Exactly a staging or retired name of `out` (no glob: `a[12]` must not match `a1`)."""
    return any(name.startswith(prefix) and _RANDOM_SUFFIX.fullmatch(name[len(prefix):])
               for prefix in (_staging_prefix(out), _retired_prefix(out)))


def remove_strays(out: Path) -> None:
    """Delete leftovers of an export to `out` that was killed. Exports to one destination
    are not meant to run concurrently; a second one would lose its staging folder here."""
    if not out.parent.is_dir():
        return
    for stray in sorted(out.parent.iterdir()):
        if _is_stray(stray.name, out):
            shutil.rmtree(stray, ignore_errors=True)


def destination(out: Path) -> Path:
    """The folder an export to `out` replaces: a symbolic link's target, so the link keeps
    pointing at the new export (swapping the link itself would leave a stray behind)."""
    return out.resolve() if out.is_symlink() else out


def check_destination(out: Path) -> None:
    """Refuse, before any work, an `out` that publishing would destroy and that is not a
    previous export: a file, or a non-empty folder without an export's manifest (a run
    folder holding the very checkpoint being exported, say)."""
    out = destination(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder; choose another path")
    if out.is_dir() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise InputError(f"output {out} is a folder that is not a previous export (no "
                         f"{MANIFEST}); export would replace it and delete what it holds: "
                         "choose a new or empty folder")


@contextlib.contextmanager
def staging_folder(out: Path) -> Iterator[Path]:
    """A fresh empty folder beside `out`; removed again unless `publish` moved it in."""
    out = destination(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder; choose another path")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_strays(out)
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(out), dir=out.parent))
    try:
        yield staging
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, out: Path) -> None:
    """Move the complete `staging` folder to `out`, replacing any previous export there."""
    out = destination(out)
    _share(staging)
    fsync_dir(staging)  # its files were fsynced by atomic_path; now its entries
    if not out.exists():
        os.rename(staging, out)
    elif not _exchange(staging, out):
        retired = Path(tempfile.mkdtemp(prefix=_retired_prefix(out), dir=out.parent))
        os.rename(out, retired / out.name)
        os.rename(staging, out)
        staging = retired
    # `staging` now names the previous export.
    fsync_dir(out.parent)
    shutil.rmtree(staging, ignore_errors=True)


def _share(folder: Path) -> None:
    """mkdtemp/mkstemp create 0700/0600 entries; an artifacts folder is meant to be read by
    other users and services (and copied to devices), so give it the umask's usual modes."""
    umask = current_umask()
    folder.chmod(0o777 & ~umask)
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o666 & ~umask)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux >= 3.15, glibc >= 2.28); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(code, f"cannot swap {a} and {b}: {os.strerror(code)}")
