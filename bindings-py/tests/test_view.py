"""`tokenpixel view`: the routes, the headers, what is refused, Ctrl-C, and live follow on
PostgreSQL. The page itself is driven in Chromium by pkg/test/viewer.test.mjs."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

import tokenpixel as tp
from tokenpixel import view
from tokenpixel.pg_store import PostgresStore

C = "DISTRICT_1.CHAMBER_0.NODE_PRE"
SITE_BUILT = (view.SITE / "index.html").is_file()
needs_site = pytest.mark.skipif(
    not SITE_BUILT and not os.environ.get("CI"),
    reason="the viewer site is built by `make viewer` (make test builds it)",
)


def fill(store, agent: str, n: int) -> list[tp.TokenPixel]:
    cp = tp.Checkpointer(store, agent, session_id="view")
    return [cp.emit(C, state={"i": i}, timestamp_ms=1_000 + i) for i in range(n)]


class Served:
    def __init__(self, store, **kwargs) -> None:
        self.server = view.make_server(store, **kwargs)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def get(self, path: str, headers=None) -> tuple[int, dict[str, str], bytes]:
        """A request with `path` sent exactly as given (no client-side normalisation)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.endheaders()
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served(tmp_path):
    store = tp.JsonlStore(tmp_path / "store")
    fill(store, "agent-a", 5)
    fill(store, "agent-b", 3)
    s = Served(store, agent="agent-b")
    s.store = store
    yield s
    s.close()


@needs_site
def test_site_and_api(served) -> None:
    status, headers, body = served.get("/")
    assert status == 200 and body.startswith(b"<!doctype html>")
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self' 'wasm-unsafe-eval'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    status, headers, body = served.get("/tokenpixel/wasm-web/tokenpixel_bg.wasm")
    assert status == 200 and headers["content-type"] == "application/wasm"
    assert body[:4] == b"\0asm"
    assert served.get("/app.js")[1]["content-type"].startswith("text/javascript")
    status, _, body = served.get("/api/agents")
    assert status == 200 and body == b'["agent-a", "agent-b"]'
    status, _, body = served.get("/api/info")
    assert b'"live": false' in body and b'"agent": "agent-b"' in body
    status, headers, body = served.get("/api/chains/agent-a.jsonl")
    assert status == 200 and headers["content-type"] == "application/x-ndjson"
    assert body == served.store.path("agent-a").read_bytes()
    assert "tokenpixel-anchor" not in headers
    assert tp.verify_jsonl(body).count == 5


@needs_site
def test_chain_is_served_as_stored_torn_tail_and_anchor_included(served) -> None:
    path = served.store.path("agent-a")
    with open(path, "ab") as f:
        f.write(b'{"agentId":"agent-a","seq":5,"cut')
    body = served.get("/api/chains/agent-a.jsonl")[2]
    assert body == path.read_bytes() and not body.endswith(b"\n")
    path.write_bytes(path.read_bytes()[: path.read_bytes().rfind(b"\n") + 1])
    served.store.prune(2, "agent-a")
    _, headers, body = served.get("/api/chains/agent-a.jsonl")
    anchor, first_seq, frontier = served.store.anchor_record("agent-a")
    assert anchor and headers["tokenpixel-anchor"] == anchor
    assert frontier and headers["tokenpixel-frontier"] == ",".join(frontier)
    assert first_seq == 3 and len(frontier) == 2  # 3 = 2 + 1
    assert tp.verify_jsonl(body, anchor=anchor).ok


@needs_site
@pytest.mark.parametrize(
    "path",
    [
        "/../store/pixels_agent-a.jsonl",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E/index.html",
        "/tokenpixel/../index.html",
        "/tokenpixel/%2e%2e/index.html",
        "//etc/passwd",
        "/etc/passwd",
        "/index.html%00",
        "/index.html%00.png",
        "/api/chains/..%2fstore%2fpixels_agent-a.jsonl",
        "/api/chains/%2e%2e.jsonl",
        "/api/chains/agent-a%00.jsonl",
        "/api/chains//etc/passwd.jsonl",
        "/api/chains/agent-a",
        "/api/chains/agent-zzz.jsonl",
        "/api/chains/agent-a.jsonl/..",
        "/api/follow/agent-a",
        "/%5c..%5cindex.html",
        "/app.js/",
        "http://evil.example/etc/passwd",
        "/.." + "/.." * 20 + "/etc/passwd",
    ],
)
def test_everything_else_is_404(served, path) -> None:
    status, _, body = served.get(path)
    assert status == 404, (path, body[:80])
    assert b"root:" not in body and b'"agentId"' not in body


@needs_site
def test_symlinks_are_not_followed(tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    real = tp.JsonlStore(outside)
    fill(real, "agent-secret", 2)
    store = tp.JsonlStore(tmp_path / "store")
    fill(store, "agent-a", 1)
    os.symlink(real.path("agent-secret"), store.path("agent-secret"))
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html>")
    (site / "secret.txt").symlink_to(outside / "pixels_agent-secret.jsonl")
    (site / "linked").symlink_to(outside, target_is_directory=True)
    s = Served(store, site=site)
    try:
        assert s.get("/")[0] == 200
        for path in (
            "/api/chains/agent-secret.jsonl",
            "/secret.txt",
            "/linked/pixels_agent-secret.jsonl",
        ):
            status, _, body = s.get(path)
            assert status == 404 and b"agent-secret" not in body, path
    finally:
        s.close()


def test_a_missing_site_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(view.ViewerMissing, match="make viewer"):
        view.make_server(tp.JsonlStore(tmp_path), site=tmp_path / "nothing")


def test_loopback() -> None:
    assert view.is_loopback("127.0.0.1") and view.is_loopback("::1")
    assert view.is_loopback("localhost") and view.is_loopback("127.8.9.10")
    assert not view.is_loopback("0.0.0.0") and not view.is_loopback("192.168.1.4")
    assert not view.is_loopback("example.com")


def _start_cli(env, *args: str, host: str = "127.0.0.1") -> tuple[subprocess.Popen, str, list]:
    command = [sys.executable, "-m", "tokenpixel"]
    proc = subprocess.Popen(
        [*command, *args, "view", "--port", "0", "--no-browser", "--host", host],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if "tokenpixel view: http://" in line:
            return proc, line.split("tokenpixel view: ")[1].split()[0], lines
    raise AssertionError("".join(lines))


def _stopped(proc: subprocess.Popen) -> None:
    """Exit 0 after Ctrl-C; otherwise the server's stack and output, for the failure."""
    try:
        assert proc.wait(timeout=20) == 0
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack to stderr
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"the server did not stop on Ctrl-C; its stderr: {err}") from None


@needs_site
def test_cli_serves_warns_off_loopback_and_stops_on_ctrl_c(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    fill(store, "agent-a", 2)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    proc, url, lines = _start_cli(env, "--store", str(tmp_path), "--agent", "agent-a")
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/?agent=agent-a")
        assert not any("warning" in line for line in lines)
        port = int(url.split(":")[2].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/agents")
        assert conn.getresponse().read() == b'["agent-a"]'
    finally:
        proc.send_signal(signal.SIGINT)
        _stopped(proc)
    assert "stopped" in proc.stderr.read()  # type: ignore[union-attr]
    proc, url, lines = _start_cli(env, "--store", str(tmp_path), host="0.0.0.0")
    proc.send_signal(signal.SIGINT)
    _stopped(proc)
    assert any("warning: serving on 0.0.0.0" in line for line in lines)


@needs_site
def test_cli_refuses_a_bad_agent(tmp_path) -> None:
    command = [sys.executable, "-m", "tokenpixel"]
    r = subprocess.run(
        [*command, "--store", str(tmp_path), "--agent", "../x", "view", "--no-browser"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and "INVALID_ARGUMENT" in r.stderr


@needs_site
def test_follow_streams_new_pixels_from_postgres(servers) -> None:
    store = PostgresStore(servers["TOKENPIXEL_TEST_PG"])
    store.setup()
    agent = f"agent-{uuid.uuid4().hex[:12]}"
    first = fill(store, agent, 3)
    s = Served(store)
    try:
        status, _, body = s.get(f"/api/chains/{agent}.jsonl")
        assert status == 200 and body.decode() == "".join(p.to_json() + "\n" for p in first)
        assert b'"live": true' in s.get("/api/info")[2]
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
        # A reconnecting browser's Last-Event-ID wins over ?after=.
        conn.request("GET", f"/api/follow/{agent}?after=0", headers={"Last-Event-ID": "1"})
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Content-Type") == "text/event-stream"
        assert r.fp.readline() == b": following\n"

        def later() -> None:
            time.sleep(0.3)
            cp = tp.Checkpointer(store, agent, session_id="view")
            cp.emit(C, state={"i": 3}, timestamp_ms=2_000)

        threading.Thread(target=later).start()
        events = []
        while len(events) < 2:
            line = r.fp.readline().decode()
            if line.startswith("data: "):
                events.append(tp.TokenPixel.from_json(line[6:].rstrip("\n")))
        assert [p.seq for p in events] == [2, 3]
        assert events[0] == first[2]
        conn.close()
    finally:
        s.close()
        store.close()


@needs_site
def test_signed_checkpoint_route_and_keys(tmp_path) -> None:
    from tokenpixel import signing

    store = tp.JsonlStore(tmp_path)
    fill(store, "agent-a", 4)
    fill(store, "agent-b", 2)
    signer = signing.keygen("example.com/view")
    note = signing.sign_head(store, "agent-a", signer)
    s = Served(store, keys=[signer.verifier])
    try:
        status, headers, body = s.get("/api/checkpoints/agent-a")
        assert status == 200 and body.decode() == note
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert s.get("/api/checkpoints/agent-b")[:3:2] == (204, b"")  # never signed
        assert s.get("/api/checkpoints/..%2fagent-a")[0] == 404
        assert f'"keys": ["{signer.verifier}"]'.encode() in s.get("/api/info")[2]
    finally:
        s.close()


@needs_site
def test_cli_refuses_a_bad_verifier_key(tmp_path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "tokenpixel", "--store", str(tmp_path), "view", "--key", "nope"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and "UNKNOWN_KEY" in r.stderr
