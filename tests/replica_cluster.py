"""A PostgreSQL primary and its streaming replica of the test's own, in temporary
directories on free ports: the machine's server allows no replication connections.

Made with the server's own tools (initdb, pg_ctl, pg_basebackup; Debian keeps them in
/usr/lib/postgresql/<version>/bin, PG_BIN overrides). The server refuses to run as root:
as root (CI), every tool runs as the `postgres` OS user, in directories it owns.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
DB_NAME = "app"


class ClusterError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ClusterError("running as root needs runuser to start PostgreSQL as postgres")
    return [runuser, "-u", OS_USER, "--", *argv]


def _run(argv: list[str], *, timeout: float = 60) -> None:
    done = subprocess.run(  # noqa: S603 — the server's own tools, fixed arguments
        _as_server_user(argv), capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode:
        raise ClusterError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.stdout}")


@dataclass
class Cluster:
    root: Path
    primary_port: int
    replica_port: int

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{DB_NAME}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def connect(self, port: int, dbname: str = DB_NAME) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True
        )

    def stop(self) -> None:
        for name in ("replica", "primary"):
            if (self.root / name / "postmaster.pid").exists():
                pg_ctl = str(PG_BIN / "pg_ctl")
                subprocess.run(  # noqa: S603
                    _as_server_user(
                        [pg_ctl, "-D", str(self.root / name), "-m", "immediate", "stop"]
                    ),
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
        shutil.rmtree(self.root, ignore_errors=True)


def _configure(data: Path, port: int, sockets: Path) -> None:
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{sockets}'\n"
            # Streaming replication; a throwaway cluster needs no durability.
            "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
            "fsync = off\nfull_page_writes = off\nmax_connections = 40\n"
        )


def start_primary_and_replica() -> Cluster:
    """Start both; the replica is in recovery and accepts connections when this returns.
    The database `app` exists on the primary (and so on the replica)."""
    for tool in ("initdb", "pg_ctl", "pg_basebackup"):
        if not (PG_BIN / tool).exists():
            raise ClusterError(f"{PG_BIN / tool} is missing (the PostgreSQL server package)")
    root = Path(tempfile.mkdtemp(prefix="replica-test-"))
    if os.geteuid() == 0:
        shutil.chown(root, OS_USER, OS_USER)
    cluster = Cluster(root, _free_port(), _free_port())
    try:
        primary, replica, sockets = root / "primary", root / "replica", root
        _run(
            [
                *(str(PG_BIN / "initdb"), "-D", str(primary), "-U", "postgres"),
                *("--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"),
            ]
        )
        _configure(primary, cluster.primary_port, sockets)
        with (primary / "pg_hba.conf").open("a") as hba:
            hba.write("\nhost replication postgres 127.0.0.1/32 trust\n")
        ctl = str(PG_BIN / "pg_ctl")
        _run([ctl, "-D", str(primary), "-l", str(root / "primary.log"), "-w", "start"])
        with cluster.connect(cluster.primary_port, "postgres") as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        _run(
            [
                *(
                    str(PG_BIN / "pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(cluster.primary_port),
                ),
                *("-U", "postgres", "-D", str(replica), "-R", "-X", "stream", "-c", "fast"),
                "--no-sync",
            ]
        )
        with (replica / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {cluster.replica_port}\n")
        _run([ctl, "-D", str(replica), "-l", str(root / "replica.log"), "-w", "start"])
        with cluster.connect(cluster.replica_port) as conn:
            if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                raise ClusterError("the replica is not in recovery")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def wait_for_replay(cluster: Cluster, *, timeout: float = 10.0) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with (
        cluster.connect(cluster.primary_port) as primary,
        cluster.connect(cluster.replica_port) as replica,
    ):
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        while not replica.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
        ).fetchone()[0]:
            if time.monotonic() > deadline:
                raise ClusterError(f"the replica did not replay up to {target} in {timeout}s")
            time.sleep(0.02)
