"""The data directory and what okrgov keeps in it are private to the user okrgov runs as:
the directory 0700; the SQLite store with its ``-wal``, ``-shm`` and ``-journal`` files,
the signing key and the token secret 0600.

A directory or file okrgov creates gets these modes from the start. One that already
exists is tightened when it belongs to this user: its group and other permissions are
removed (nothing is ever added, and nobody else's file is touched); a shared sticky
directory such as ``/tmp`` is left alone. SQLite gives its ``-wal`` and
``-shm`` files the mode of the store, so a store created 0600 keeps them 0600."""

import contextlib
import os
import stat
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
#: Files SQLite keeps beside a store.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
#: The secrets okrgov generates into its data directory: the checkpoint signing key
#: (``infra.signing``) and the token secret (``infra.tokens``).
SECRET_FILES = ("signing_key", "secret_key")


def private_directory(path: Path, *, tighten: bool = True) -> None:
    """Create ``path`` 0700 (parents as the umask says), or tighten it if it exists."""
    try:
        path.mkdir(mode=DIRECTORY_MODE, parents=True)
    except FileExistsError:
        if tighten:
            _tighten(path)
        return
    path.chmod(DIRECTORY_MODE)  # whatever the umask


def private_file(path: Path) -> None:
    """Take group and other permissions off an existing file (none: nothing to do)."""
    _tighten(path)


def private_secrets(data_dir: Path) -> None:
    """Tighten the generated secrets (written 0600; one an older okrgov left readable)."""
    for name in SECRET_FILES:
        private_file(data_dir / name)


def private_sqlite_store(path: Path) -> None:
    """Create the SQLite store file 0600 before SQLite does (it would make it 0644), in a
    directory created 0700 if missing; tighten an existing store and its companions."""
    if str(path) == ":memory:" or str(path).startswith("file:"):
        return
    private_directory(path.parent, tighten=False)  # not ours to decide for a chosen path
    if not path.exists():
        # Only a store that does not exist yet is opened here: closing any descriptor of
        # a file drops every POSIX lock this process holds on it, SQLite's included, so
        # opening an existing store beside open connections would let another process
        # checkpoint and delete the -wal file under them.
        with contextlib.suppress(FileExistsError):  # another process created it meanwhile
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    for companion in (path, *(path.with_name(path.name + s) for s in SQLITE_COMPANIONS)):
        private_file(companion)


def _tighten(path: Path) -> None:
    try:
        status = path.lstat()
    except FileNotFoundError:
        return
    shared = stat.S_ISDIR(status.st_mode) and status.st_mode & stat.S_ISVTX
    if status.st_uid != os.geteuid() or shared or stat.S_ISLNK(status.st_mode):
        return
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        path.chmod(mode & ~0o077)
