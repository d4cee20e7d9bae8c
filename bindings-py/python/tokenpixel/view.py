"""`tokenpixel view`: serves the viewer (a static page that verifies chains in the browser) and a
store's chains, read-only, on the loopback interface.

Routes (docs/SPEC.md, "The viewer"), nothing else:

- the site's own files, looked up in a table built at start-up (never joined to a path);
- `GET /api/info`: `{"live": bool, "agent": str|null, "store": str, "keys": [verifier keys]}`;
- `GET /api/agents`: the store's agent ids, a JSON array;
- `GET /api/chains/<agent>.jsonl`: the chain as stored (a JSONL store's file byte for byte,
  torn tail included; other stores' lines), with a pruned chain's anchor and frontier in the
  `TokenPixel-Anchor` and `TokenPixel-Frontier` headers;
- `GET /api/checkpoints/<agent>`: the chain's latest signed checkpoint (SPEC 14.5), a note, or
  204 when none is kept;
- `GET /api/follow/<agent>?after=<seq>` (PostgreSQL stores): Server-Sent Events, one pixel line
  per event, `id:` its seq, as pixels commit.

Everything else, including `..`, `%2e%2e`, absolute paths, NUL bytes and a chain file that is a
symlink leading out of the store, is 404.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import sys
import threading
import webbrowser
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from tokenpixel._native import validate_agent_id
from tokenpixel.errors import TokenPixelError
from tokenpixel.store import AnchorRecord, JsonlStore, Store

SITE = Path(__file__).with_name("viewer_site")
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "connect-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".png": "image/png",
}
FOLLOW_HEARTBEAT = 5.0  # seconds between keep-alive comments on an idle event stream


class ViewerMissing(RuntimeError):
    """This installation has no built viewer site."""


def site_files(site: Path = SITE) -> dict[str, Path]:
    """URL path -> file, for every regular file of the built site (no symlinks followed)."""
    if not (site / "index.html").is_file():
        raise ViewerMissing(
            f"the viewer is not built in {site} (a source checkout builds it with `make viewer`)"
        )
    table: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(site):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            table["/" + path.relative_to(site).as_posix()] = path
    table["/"] = table["/index.html"]
    return table


class Viewer:
    """What the handler serves: the site's files and one store, read-only."""

    def __init__(
        self,
        store: Store,
        agent: Optional[str] = None,
        site: Path = SITE,
        keys: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.agent = agent
        self.keys = list(keys)
        self.files = site_files(site)
        self.live = callable(getattr(store, "follow", None))

    def info(self) -> dict[str, Any]:
        return {
            "live": self.live,
            "agent": self.agent,
            "store": str(self.store),
            "keys": self.keys,
        }

    def checkpoint(self, agent: str) -> Optional[bytes]:
        """The chain's latest signed checkpoint, or None."""
        from tokenpixel.signing import load_checkpoint

        validate_agent_id(agent)
        note = load_checkpoint(self.store, agent)
        return None if note is None else note.encode()

    def chain(self, agent: str) -> tuple[bytes, Optional[AnchorRecord]]:
        """The chain's bytes as stored and its anchor record; KeyError when there is none."""
        validate_agent_id(agent)
        if isinstance(self.store, JsonlStore):
            root = os.path.realpath(self.store.directory)
            path = self.store.path(agent)
            real = os.path.realpath(path)
            if os.path.islink(path) or os.path.commonpath([root, real]) != root:
                raise KeyError(agent)  # a symlink (out of the store or not): never followed
        if agent not in self.store.agents():
            raise KeyError(agent)
        record = self.store.anchor_record(agent)
        if isinstance(self.store, JsonlStore):
            with open(path, "rb") as f:
                return f.read(), record
        return "".join(line + "\n" for line in self.store.lines(agent)).encode(), record


def _agent_in(path: str, prefix: str, suffix: str = "") -> Optional[str]:
    if not path.startswith(prefix) or not path.endswith(suffix):
        return None
    name = path[len(prefix) : len(path) - len(suffix)]
    try:
        validate_agent_id(name)
    except TokenPixelError:
        return None
    return name


class Handler(BaseHTTPRequestHandler):
    server_version = "tokenpixel-view"
    viewer: Viewer  # set on the subclass that make_server builds

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("TOKENPIXEL_VIEW_LOG"):
            super().log_message(format, *args)

    def _headers(self, status: int, ctype: str, length: Optional[int], extra=()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str, extra=()) -> None:
        self._headers(status, ctype, len(body), extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _not_found(self) -> None:
        self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _json(self, value: Any) -> None:
        self._send(200, json.dumps(value).encode(), "application/json")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        raw = self.path
        if "\x00" in raw or not raw.startswith("/"):
            return self._not_found()
        parts = urlsplit(raw)
        path = unquote(parts.path)
        if "\x00" in path or "//" in path or "\\" in path:
            return self._not_found()
        viewer = self.viewer
        try:
            if path in viewer.files:
                file = viewer.files[path]
                return self._send(200, file.read_bytes(), TYPES.get(file.suffix, "text/plain"))
            if path == "/api/info":
                return self._json(viewer.info())
            if path == "/api/agents":
                return self._json(viewer.store.agents())
            agent = _agent_in(path, "/api/chains/", ".jsonl")
            if agent is not None:
                body, record = viewer.chain(agent)
                extra = []
                if record is not None:
                    extra.append(("TokenPixel-Anchor", record[0]))
                    if record[2] is not None:
                        extra.append(("TokenPixel-Frontier", ",".join(record[2])))
                return self._send(200, body, "application/x-ndjson", extra)
            agent = _agent_in(path, "/api/checkpoints/")
            if agent is not None:
                # None kept: 204, not 404 (which browsers log as an error for every unsigned chain).
                note = viewer.checkpoint(agent)
                return self._send(
                    204 if note is None else 200, note or b"", "text/plain; charset=utf-8"
                )
            agent = _agent_in(path, "/api/follow/")
            if agent is not None and viewer.live:
                return self._follow(agent, parts.query)
        except (KeyError, FileNotFoundError):
            return self._not_found()
        except TokenPixelError as exc:
            if exc.code == "NOT_FOUND":
                return self._not_found()
            body = json.dumps({"code": exc.code, "message": str(exc)}).encode()
            return self._send(500, body, "application/json")
        return self._not_found()

    def _follow(self, agent: str, query: str) -> None:
        """Server-Sent Events from the store's `follow`; a reconnecting browser's Last-Event-ID
        (the last seq it got) wins over `after`."""
        after: Optional[int] = None
        for text in (self.headers.get("Last-Event-ID"), *parse_qs(query).get("after", [])[:1]):
            if text is not None and text.isdigit() and len(text) <= 16:
                after = int(text)
                break
        self._headers(200, "text/event-stream", None, [("Connection", "close")])
        self.close_connection = True
        stream = self.viewer.store.follow(agent, after, poll=FOLLOW_HEARTBEAT, idle=True)  # type: ignore[attr-defined]
        try:
            self.wfile.write(b": following\n\n")
            self.wfile.flush()
            for pixel in stream:
                if pixel is None:
                    self.wfile.write(b": idle\n\n")
                else:
                    self.wfile.write(f"id: {pixel.seq}\ndata: {pixel.to_json()}\n\n".encode())
                self.wfile.flush()
        except OSError:
            pass  # the browser went away
        finally:
            stream.close()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(
    store: Store,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    agent: Optional[str] = None,
    site: Path = SITE,
    keys: Sequence[str] = (),
) -> ThreadingHTTPServer:
    """A server for the viewer over `store` (not started: call serve_forever). `keys`: verifier
    keys the page checks the chains' signed checkpoints with."""
    viewer = Viewer(store, agent, site, keys)
    handler = type("ViewerHandler", (Handler,), {"viewer": viewer})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def url_of(server: ThreadingHTTPServer, agent: Optional[str] = None) -> str:
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in str(host) else host
    return f"http://{shown}:{port}/" + (f"?agent={agent}" if agent else "")


def serve(
    store: Store,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    agent: Optional[str] = None,
    keys: Sequence[str] = (),
    open_browser: bool = True,
    out: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> int:
    """Serves until Ctrl-C; returns the exit status."""
    if not is_loopback(host):
        out(
            f"warning: serving on {host}, not only this machine: anyone who reaches this "
            "address can read every chain in the store"
        )
    server = make_server(store, host=host, port=port, agent=agent, keys=keys)
    url = url_of(server, agent)
    out(f"tokenpixel view: {url} (Ctrl-C stops)")
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        out("stopped")
    finally:
        server.server_close()
        with contextlib.suppress(Exception):
            close = getattr(store, "close", None)
            if close:
                close()
    return 0
