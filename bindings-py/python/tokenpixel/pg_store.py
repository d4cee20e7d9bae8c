"""A PostgreSQL store for fleets (docs/SPEC.md 12.9 and 12.10), on psycopg 3
(`pip install tokenpixel[postgres]`).

The database itself refuses a fork: a primary key on (agent, seq), a unique hash, and a trigger
that checks each new row's link to the row before it. Writers of one agent serialize on an
advisory lock held by their transaction, so `kill -9` of a writer rolls back and frees it.
`follow()` yields pixels as they commit (LISTEN/NOTIFY).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Optional, Union

from tokenpixel._native import (
    PG_MIGRATIONS,
    PG_SETUP_LOCK,
    TokenPixel,
    frontier_text,
    pixel_not_found_message,
    validate_agent_id,
)
from tokenpixel.errors import error
from tokenpixel.store import (
    AnchorRecord,
    PixelKey,
    Store,
    Transaction,
    _anchor_of_row,
    _check_limit,
    _pruned_frontier,
    _replacement,
    _Session,
)

POLL_SECONDS = 5.0
PAGE = 1000


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise error(
            "INVALID_ARGUMENT",
            "PostgresStore needs psycopg 3: pip install 'tokenpixel[postgres]'",
        ) from None
    return psycopg


def _redact(dsn: str) -> str:
    """The DSN without a password, for messages."""
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        user, _, host = rest.rpartition("@")
        return f"{scheme}://{user.split(':', 1)[0]}@{host}"
    return dsn


ANCHOR = "SELECT anchor, first_seq, frontier FROM tokenpixel_anchors WHERE agent_id = %s"


class PostgresStore(Store):
    """Pixels in PostgreSQL tables `tokenpixel_pixels` and `tokenpixel_anchors` (SPEC 12.10).

    `dsn` is a libpq connection string or URL. Call `setup()` once (it is idempotent;
    `open_store` does it). One store object is usable from any thread: each thread gets its
    own connection.
    """

    def __init__(self, dsn: str, *, lock_timeout: float = 30.0, connect_timeout: float = 10.0):
        if not isinstance(dsn, str) or not dsn:
            raise error("INVALID_ARGUMENT", "dsn must be a non-empty connection string")
        if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, (int, float)):
            raise error("INVALID_ARGUMENT", "lock_timeout must be a number of seconds")
        self.psycopg = _psycopg()
        self.dsn = dsn
        self.lock_timeout = float(lock_timeout)
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._all: list[Any] = []
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"PostgresStore({_redact(self.dsn)!r})"

    def __str__(self) -> str:
        return _redact(self.dsn)

    # -- connections and errors ------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            return self.psycopg.connect(
                self.dsn, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
            )
        except self.psycopg.Error as exc:
            raise error("STORE_IO", f"cannot connect to PostgreSQL {self}: {exc}") from None

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._connect()
            self._local.conn = conn
            self._local.depth = 0
            with self._guard:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Closes every connection this store opened."""
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, exc: Exception) -> Exception:
        sqlstate = getattr(exc, "sqlstate", None)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if sqlstate in ("23505", "TP001"):
            return error("CHAIN_CONFLICT", f"chain conflict in {self}: {message}")
        if sqlstate == "55P03":
            return error(
                "STORE_LOCKED",
                f"the writer lock in {self} was not granted within {self.lock_timeout:g} s",
            )
        if sqlstate == "42P01":
            return error("STORE_IO", f"{self} has no tokenpixel tables: call setup() ({message})")
        return error("STORE_IO", f"PostgreSQL {self}: {message}")

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self.psycopg.Error as exc:
            raise self._error(exc) from None

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._errors():
            return self._conn().execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple = ()) -> Optional[tuple]:
        with self._errors():
            return self._conn().execute(sql, args).fetchone()

    def _exec(self, sql: str, args: tuple = ()) -> None:
        with self._errors():
            self._conn().execute(sql, args)

    # -- schema ----------------------------------------------------------------------------------

    def setup(self) -> int:
        """Creates or upgrades the schema (SPEC 12.10); idempotent. Returns the version."""
        conn = self._conn()
        with self._errors(), conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_SETUP_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS tokenpixel_schema_version ("
                "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = conn.execute("SELECT coalesce(max(version), 0) FROM tokenpixel_schema_version")
            current = int(row.fetchone()[0])
            if current > len(PG_MIGRATIONS):
                raise error(
                    "STORE_IO",
                    f"{self} has tokenpixel schema version {current}, newer than this "
                    f"tokenpixel knows ({len(PG_MIGRATIONS)}): upgrade tokenpixel",
                )
            for version in range(current + 1, len(PG_MIGRATIONS) + 1):
                conn.execute(PG_MIGRATIONS[version - 1])
                conn.execute(
                    "INSERT INTO tokenpixel_schema_version (version) VALUES (%s)", (version,)
                )
        return len(PG_MIGRATIONS)

    def schema_version(self) -> int:
        row = self._one("SELECT coalesce(max(version), 0) FROM tokenpixel_schema_version")
        return int(row[0]) if row else 0

    # -- the store interface ---------------------------------------------------------------------

    def agents(self) -> list[str]:
        rows = self._rows("SELECT DISTINCT agent_id FROM tokenpixel_pixels")
        return sorted((r[0] for r in rows), key=lambda a: a.encode("utf-16-be"))

    @contextlib.contextmanager
    def transaction(self, agent_id: str) -> Iterator[Transaction]:
        """A database transaction holding the agent's advisory lock (SPEC 12.10); a nested call
        in the same thread joins it."""
        validate_agent_id(agent_id)
        conn = self._conn()
        if self._local.depth > 0:
            self._local.depth += 1
            try:
                yield Transaction(agent_id, _PgSession(self, conn, agent_id))
            finally:
                self._local.depth -= 1
            return
        self._local.depth = 1
        try:
            with self._errors(), conn.transaction():
                # One round trip: the lock timeout for this transaction, then the lock.
                conn.execute(
                    "SELECT set_config('lock_timeout', %s, true),"
                    " pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"{max(1, int(self.lock_timeout * 1000))}ms", f"tokenpixel:{agent_id}"),
                )
                yield Transaction(agent_id, _PgSession(self, conn, agent_id))
        finally:
            self._local.depth = 0

    def _require(self, agent: str) -> None:
        row = self._one(
            "SELECT EXISTS (SELECT 1 FROM tokenpixel_pixels WHERE agent_id = %s)"
            " OR EXISTS (SELECT 1 FROM tokenpixel_anchors WHERE agent_id = %s)",
            (agent, agent),
        )
        if not row or not row[0]:
            raise error("NOT_FOUND", f"no chain for agent {agent} in {self}")

    def anchor(self, agent_id: Optional[str] = None) -> Optional[str]:
        record = self.anchor_record(agent_id)
        return record[0] if record else None

    def anchor_record(self, agent_id: Optional[str] = None) -> Optional[AnchorRecord]:
        agent = self._agent(agent_id)
        row = self._one(ANCHOR, (agent,))
        if row is None:
            self._require(agent)
            return None
        return _anchor_of_row(row[0], int(row[1]), row[2])

    def lines(self, agent_id: Optional[str] = None) -> Iterator[str]:
        agent = self._agent(agent_id)
        self._require(agent)
        return self._lines_after(agent, -1)

    def _lines_after(self, agent: str, last: int) -> Iterator[str]:
        while True:  # keyset pages: a long chain is never held whole
            rows = self._rows(
                "SELECT seq, line FROM tokenpixel_pixels WHERE agent_id = %s AND seq > %s"
                " ORDER BY seq LIMIT %s",
                (agent, last, PAGE),
            )
            for _seq, line in rows:
                yield line
            if len(rows) < PAGE:
                return
            last = rows[-1][0]

    def latest(self, agent_id: Optional[str] = None) -> Optional[TokenPixel]:
        agent = self._agent(agent_id)
        row = self._one(
            "SELECT line FROM tokenpixel_pixels WHERE agent_id = %s ORDER BY seq DESC LIMIT 1",
            (agent,),
        )
        if row is None:
            self._require(agent)
            return None
        return TokenPixel.from_json(row[0])

    def list(self, agent_id: Optional[str] = None, limit: Optional[int] = None) -> list[TokenPixel]:
        _check_limit(limit)
        agent = self._agent(agent_id)
        if limit is None:
            return list(self.iter(agent))
        self._require(agent)
        rows = self._rows(
            "SELECT line FROM tokenpixel_pixels WHERE agent_id = %s ORDER BY seq DESC LIMIT %s",
            (agent, limit),
        )
        return [TokenPixel.from_json(r[0]) for r in reversed(rows)]

    def get(self, key: PixelKey, agent_id: Optional[str] = None) -> TokenPixel:
        from tokenpixel._native import parse_key

        kind, wanted = parse_key(key)
        if kind != "seq":
            return super().get(key, agent_id)
        agent = self._agent(agent_id)
        row = self._one(
            "SELECT line FROM tokenpixel_pixels WHERE agent_id = %s AND seq = %s", (agent, wanted)
        )
        if row is None:
            self._require(agent)
            raise error("NOT_FOUND", pixel_not_found_message(agent, key))
        return TokenPixel.from_json(row[0])

    def _prune(self, agent: str, keep: int) -> int:
        with self.transaction(agent) as tx:
            session = tx._session
            assert isinstance(session, _PgSession)
            return session.prune(keep)

    # -- following -------------------------------------------------------------------------------

    def _start_after(self, agent: str, after: Optional[int]) -> int:
        if after is not None:
            if isinstance(after, bool) or not isinstance(after, int) or after < -1:
                raise error("INVALID_ARGUMENT", "after must be a seq (an integer >= -1) or None")
            return after
        row = self._one("SELECT max(seq) FROM tokenpixel_pixels WHERE agent_id = %s", (agent,))
        return row[0] if row and row[0] is not None else -1

    def follow(
        self,
        agent_id: str,
        after: Optional[int] = None,
        *,
        poll: float = POLL_SECONDS,
        idle: bool = False,
    ) -> Iterator[TokenPixel]:
        """Yields the agent's pixels with seq > `after` (default: the head now) as they commit,
        oldest first, until the caller stops (`break`, or `close()` on the generator). With
        `idle=True` it also yields None when a wait of up to `poll` seconds brought nothing, so
        that a caller can do its own work (a keep-alive, a check that its reader is still
        there) between pixels."""
        validate_agent_id(agent_id)
        conn = self._connect()
        try:
            with self._errors():
                conn.execute("LISTEN tokenpixel")
            last = self._start_after(agent_id, after)
            while True:
                rows = self._fetch_after(conn, agent_id, last)
                for seq, line in rows:
                    last = seq
                    yield TokenPixel.from_json(line)
                if len(rows) == PAGE:
                    continue
                if idle and not rows:
                    yield None  # type: ignore[misc]
                self._wait(conn, agent_id, poll)
        finally:
            conn.close()

    def _fetch_after(self, conn: Any, agent: str, last: int) -> list[tuple]:
        with self._errors():
            return conn.execute(
                "SELECT seq, line FROM tokenpixel_pixels WHERE agent_id = %s AND seq > %s"
                " ORDER BY seq LIMIT %s",
                (agent, last, PAGE),
            ).fetchall()

    def _wait(self, conn: Any, agent: str, poll: float) -> None:
        deadline = time.monotonic() + poll
        with self._errors():
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                for note in conn.notifies(timeout=left, stop_after=1):
                    if note.payload.split(" ", 1)[0] == agent:
                        return

    async def afollow(
        self, agent_id: str, after: Optional[int] = None, *, poll: float = POLL_SECONDS
    ) -> AsyncIterator[TokenPixel]:
        """The asyncio twin of `follow` (its own async connection)."""
        validate_agent_id(agent_id)
        try:
            conn = await self.psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        except self.psycopg.Error as exc:
            raise error("STORE_IO", f"cannot connect to PostgreSQL {self}: {exc}") from None
        try:
            with self._errors():
                await conn.execute("LISTEN tokenpixel")
            if after is None:
                with self._errors():
                    cur = await conn.execute(
                        "SELECT max(seq) FROM tokenpixel_pixels WHERE agent_id = %s", (agent_id,)
                    )
                    row = await cur.fetchone()
                last = row[0] if row and row[0] is not None else -1
            else:
                last = self._start_after(agent_id, after)
            while True:
                with self._errors():
                    cur = await conn.execute(
                        "SELECT seq, line FROM tokenpixel_pixels WHERE agent_id = %s AND seq > %s"
                        " ORDER BY seq LIMIT %s",
                        (agent_id, last, PAGE),
                    )
                    rows = await cur.fetchall()
                for seq, line in rows:
                    last = seq
                    yield TokenPixel.from_json(line)
                if len(rows) == PAGE:
                    continue
                deadline = time.monotonic() + poll
                done = False
                with self._errors():
                    while not done and (left := deadline - time.monotonic()) > 0:
                        async for note in conn.notifies(timeout=left, stop_after=1):
                            done = note.payload.split(" ", 1)[0] == agent_id
                        if not done and deadline - time.monotonic() <= 0:
                            break
        finally:
            await conn.close()


class _PgSession(_Session):
    def __init__(self, store: PostgresStore, conn: Any, agent: str) -> None:
        self.store = store
        self.conn = conn
        self.agent = agent

    def _one(self, sql: str, args: tuple) -> Optional[tuple]:
        with self.store._errors():
            return self.conn.execute(sql, args).fetchone()

    def _exec(self, sql: str, args: tuple) -> None:
        with self.store._errors():
            self.conn.execute(sql, args)

    def _all(self, sql: str, args: tuple) -> list[tuple]:
        with self.store._errors():
            return self.conn.execute(sql, args).fetchall()

    def head_line(self) -> Optional[str]:
        row = self._one(
            "SELECT line FROM tokenpixel_pixels WHERE agent_id = %s ORDER BY seq DESC LIMIT 1",
            (self.agent,),
        )
        return row[0] if row else None

    def anchor_record(self) -> Optional[AnchorRecord]:
        row = self._one(ANCHOR, (self.agent,))
        return _anchor_of_row(row[0], int(row[1]), row[2]) if row else None

    def _insert(self, p: TokenPixel) -> None:
        self._exec(
            "INSERT INTO tokenpixel_pixels"
            " (agent_id, seq, hash, prev_hash, corridor, timestamp_ms, line)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (p.agent_id, p.seq, p.hash, p.prev_hash, p.corridor, p.timestamp_ms, p.to_json()),
        )

    def append(self, pixel: Union[TokenPixel, str]) -> None:
        p = self.check_next(pixel, self._trusted)
        self._trusted = None
        self._insert(p)
        self._trusted = p

    def replace(
        self,
        lines: Iterable[Union[TokenPixel, str]],
        anchor: Optional[str],
        frontier: Optional[list[str]] = None,
    ) -> None:
        self._trusted = None
        pixels, first, column = _replacement(lines, anchor, frontier)
        self._exec("DELETE FROM tokenpixel_pixels WHERE agent_id = %s", (self.agent,))
        if anchor is None:
            self._exec("DELETE FROM tokenpixel_anchors WHERE agent_id = %s", (self.agent,))
        else:
            self._upsert_anchor(anchor, first, column)
        for p in pixels:
            self._insert(p)

    def _upsert_anchor(self, anchor: str, first_seq: int, column: Optional[str]) -> None:
        self._exec(
            "INSERT INTO tokenpixel_anchors (agent_id, anchor, first_seq, frontier)"
            " VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (agent_id) DO UPDATE SET anchor = EXCLUDED.anchor,"
            " first_seq = EXCLUDED.first_seq, frontier = EXCLUDED.frontier",
            (self.agent, anchor, first_seq, column),
        )

    def delete(self) -> bool:
        self._trusted = None
        row = self._one(
            "WITH p AS (DELETE FROM tokenpixel_pixels WHERE agent_id = %s RETURNING 1),"
            " a AS (DELETE FROM tokenpixel_anchors WHERE agent_id = %s RETURNING 1)"
            " SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM a)",
            (self.agent, self.agent),
        )
        return bool(row and row[0])

    def prune(self, keep: int) -> int:
        self._trusted = None
        row = self._one("SELECT count(*) FROM tokenpixel_pixels WHERE agent_id = %s", (self.agent,))
        count = int(row[0]) if row else 0
        if count <= keep:
            return 0
        row = self._one(
            "SELECT line FROM tokenpixel_pixels WHERE agent_id = %s"
            " ORDER BY seq DESC LIMIT 1 OFFSET %s",
            (self.agent, keep - 1),
        )
        assert row is not None
        first = TokenPixel.from_json(row[0])
        removed = self._all(
            "SELECT hash FROM tokenpixel_pixels WHERE agent_id = %s AND seq < %s ORDER BY seq",
            (self.agent, first.seq),
        )
        frontier = _pruned_frontier(self.anchor_record(), [r[0] for r in removed])
        self._exec(
            "DELETE FROM tokenpixel_pixels WHERE agent_id = %s AND seq < %s",
            (self.agent, first.seq),
        )
        column = None if frontier is None else frontier_text(first.seq, frontier)
        self._upsert_anchor(first.prev_hash, first.seq, column)
        return count - keep
