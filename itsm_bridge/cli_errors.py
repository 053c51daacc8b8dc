"""Ordinary failures of the machine, told as one line instead of a traceback.

A full disk, a missing folder, a port in use or a state file that is not a database are not
bugs: the user can fix them. `ordinary` turns such an exception into a BridgeError whose message
says what and where, with the exit code of the table (1 when the store or the disk failed the
run, 2 when a path or port given is unusable); anything else is left to propagate.
"""

from __future__ import annotations

import errno
import sys

from itsm_bridge.errors import BridgeError, StoreError

DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}
BROKEN = ("file is not a database", "malformed", "not a database", "file is encrypted")
FULL = ("disk is full", "disk i/o error")


class UnusablePath(BridgeError):
    """A file, folder or port given on the command line or in the config cannot be used."""

    exit_code = 2


def ordinary(exc: BaseException) -> BridgeError | None:
    """The BridgeError to report for `exc`, or None when it is not an ordinary failure."""
    if isinstance(exc, OSError):
        return os_error(exc)
    sqlalchemy = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy is not None and isinstance(exc, sqlalchemy.DBAPIError):
        return store_error(exc)
    if isinstance(exc, ImportError) and exc.name in ("psycopg", "psycopg2"):
        return UnusablePath("state.url: PostgreSQL needs the psycopg driver: pip install 'itsm-bridge[postgres]'")
    return None


def os_error(exc: OSError) -> BridgeError:
    where = f": {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno in DISK:
        return StoreError(
            f"{reason}{where}: the run stopped; free space and run again (the journal keeps what was done)"
        )
    return UnusablePath(f"{reason}{where}")


def store_error(exc: BaseException) -> StoreError:
    """A database error as the state store's: broken (not a database), full, or other."""
    orig = str(getattr(exc, "orig", exc)).strip()
    lowered = orig.lower()
    if any(b in lowered for b in BROKEN):
        return StoreError(
            f"the state store is broken ({orig}); restore it from a backup or move it away to start afresh"
        )
    if any(f in lowered for f in FULL):
        return StoreError(f"the state store cannot write ({orig}): free disk space and run again")
    return StoreError(f"the state store failed: {orig.splitlines()[0] if orig else type(exc).__name__}")


def check_writable(path: str, option: str) -> None:
    """Refuse, before any work, an output file that cannot be written: its folder missing or
    not writable, or the path a folder. The work (reading every platform) would be wasted."""
    import os
    from pathlib import Path

    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UnusablePath(f"{option} {path}: is a folder; give a file name")
    if not folder.is_dir():
        raise UnusablePath(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UnusablePath(f"{option} {path}: not writable")
