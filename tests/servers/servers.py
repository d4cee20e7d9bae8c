"""Starts and stops the real servers the store tests run against: a throwaway PostgreSQL
cluster (Debian's postgresql: initdb + pg_ctl, unix socket only, in a temp directory) and an
S3-compatible server (moto, tests/servers/s3_server.py, on a loopback port).

    python tests/servers/servers.py run -- COMMAND ...   start both, run COMMAND with the
                                                          variables below, stop both, exit
                                                          with COMMAND's code
    python tests/servers/servers.py start [--env FILE]   start both, write `export` lines
    python tests/servers/servers.py stop  [--env FILE]   stop what `start` started

Variables: TOKENPIXEL_TEST_PG (a libpq connection URL), TOKENPIXEL_TEST_S3 (endpoint URL, also
as AWS_ENDPOINT_URL_S3), TOKENPIXEL_TEST_BUCKET, and dummy AWS credentials and region for the
test processes only.
initdb refuses to run as root: as root the cluster belongs to the user `nobody`.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUCKET = "tokenpixel-test"
STATE = Path(tempfile.gettempdir()) / "tokenpixel-test-servers.json"


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path:
        return path
    sys.exit(f"servers: {name} not found: install Debian's postgresql (make pg-tools)")


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_pg() -> dict:
    owner = "nobody" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="tp-pg-"))
    data = base / "data"
    if owner:
        pw = pwd.getpwnam(owner)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    subprocess.run(
        _as_owner(
            [
                _pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "tokenpixel",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            owner,
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    opts = f"-k {base} -c listen_addresses='' -c fsync=off -c max_connections=100"
    subprocess.run(
        _as_owner(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(base / "log"),
                "-w",
                "start",
            ],
            owner,
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return {
        "pg_base": str(base),
        "pg_owner": owner,
        "TOKENPIXEL_TEST_PG": f"postgresql://tokenpixel@/postgres?host={base}",
    }


def stop_pg(state: dict) -> None:
    base = state.get("pg_base")
    if not base:
        return
    subprocess.run(
        _as_owner(
            [_pg_bin("pg_ctl"), "-D", f"{base}/data", "-m", "immediate", "-w", "stop"],
            state.get("pg_owner"),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shutil.rmtree(base, ignore_errors=True)


def start_s3() -> dict:
    port = _free_port()
    log = open(Path(tempfile.gettempdir()) / f"tp-s3-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "s3_server.py"), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            break
        except urllib.error.HTTPError:
            break  # it answers
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"servers: the S3 server did not start (see {log.name})")
            time.sleep(0.1)
    req = urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT")
    urllib.request.urlopen(req, timeout=10).close()  # the test bucket
    return {
        "s3_pid": proc.pid,
        "TOKENPIXEL_TEST_S3": endpoint,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "TOKENPIXEL_TEST_BUCKET": BUCKET,
        "AWS_ACCESS_KEY_ID": "tokenpixel-test",
        "AWS_SECRET_ACCESS_KEY": "tokenpixel-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def stop_s3(state: dict) -> None:
    pid = state.get("s3_pid")
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)


def env_of(state: dict) -> dict[str, str]:
    return {k: str(v) for k, v in state.items() if k.isupper()}


def start() -> dict:
    state: dict = {}
    try:
        state.update(start_pg())
        state.update(start_s3())
    except BaseException:
        stop(state)
        raise
    return state


def stop(state: dict) -> None:
    stop_s3(state)
    stop_pg(state)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "run":
        cmd = argv[argv.index("--") + 1 :] if "--" in argv else argv[1:]
        state = start()
        try:
            return subprocess.run(cmd, env={**os.environ, **env_of(state)}).returncode
        finally:
            stop(state)
    if argv[0] == "start":
        state = start()
        STATE.write_text(json.dumps(state))
        for k, v in env_of(state).items():
            print(f"export {k}='{v}'")
        return 0
    if STATE.exists():
        stop(json.loads(STATE.read_text()))
        STATE.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
