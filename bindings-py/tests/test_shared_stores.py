"""PostgreSQL and S3 stores (issue 11, SPEC 12.9-12.11) against real servers: PostgreSQL from
Debian's packages (a throwaway cluster) and an S3-compatible server (moto), both started by
tests/servers/servers.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import psycopg
import pytest

import tokenpixel as tp
from tokenpixel import signing
from tokenpixel.pg_store import PostgresStore
from tokenpixel.s3_store import S3Store

C = "DISTRICT_1.CHAMBER_0.NODE_PRE"


def fresh_agent() -> str:
    return f"agent-{uuid.uuid4().hex[:12]}"


def pg_store(env) -> PostgresStore:
    store = PostgresStore(env["TOKENPIXEL_TEST_PG"])
    store.setup()
    return store


def s3_store(env, prefix=None) -> S3Store:
    return S3Store(env["TOKENPIXEL_TEST_BUCKET"], prefix or f"t-{uuid.uuid4().hex[:10]}/")


@pytest.fixture(params=["postgres", "s3"])
def shared(request, servers):
    """A fresh store of each shared kind (S3: its own prefix; PostgreSQL: fresh agents)."""
    make = pg_store if request.param == "postgres" else s3_store
    store = make(servers)
    store.reopen = lambda: (
        make(servers) if request.param == "postgres" else s3_store(servers, store.prefix)
    )
    store.url = (
        servers["TOKENPIXEL_TEST_PG"]
        if request.param == "postgres"
        else f"s3://{servers['TOKENPIXEL_TEST_BUCKET']}/{store.prefix}"
    )
    yield store
    if request.param == "postgres":
        store.close()


def test_round_trip(shared) -> None:
    agent = fresh_agent()
    cp = tp.Checkpointer(shared, agent, session_id="s")
    pixels = [cp.emit(C, state={"i": i}, timestamp_ms=1000 + i) for i in range(5)]
    assert agent in shared.agents()
    assert shared.latest(agent) == pixels[-1]
    assert shared.list(agent, limit=2) == pixels[-2:]
    assert shared.list(agent) == pixels
    assert shared.get(3, agent) == pixels[3]
    assert shared.get("sha256:" + pixels[2].hash[7:20], agent) == pixels[2]
    assert list(shared.lines(agent)) == [p.to_json() for p in pixels]
    report = shared.verify(agent)
    assert (report.ok, report.count, report.head) == (True, 5, pixels[-1].hash)
    assert shared.anchor(agent) is None
    # Another store object (another machine) continues the same chain.
    other = tp.Checkpointer(shared.reopen(), agent)
    assert other.emit(C).seq == 5
    assert cp.emit(C).seq == 6


def test_missing_and_bad_agents(shared) -> None:
    agent = fresh_agent()
    for call in (shared.latest, shared.verify, shared.anchor, lambda a: shared.list(a, limit=1)):
        with pytest.raises(tp.NotFoundError):
            call(agent)
    with pytest.raises(tp.NotFoundError):
        shared.get(0, agent)
    for bad in ("../etc", "", "a/b"):
        with pytest.raises(tp.ArgumentError):
            shared.latest(bad)
        with pytest.raises(tp.ArgumentError), shared.transaction(bad):
            pass


def test_prune_records_the_anchor_and_the_chain_goes_on(shared) -> None:
    agent = fresh_agent()
    cp = tp.Checkpointer(shared, agent)
    pixels = [cp.emit(C, state={"i": i}) for i in range(6)]
    assert shared.prune(2, agent) == 4
    assert shared.prune(2, agent) == 0
    assert shared.anchor(agent) == pixels[3].hash
    assert shared.list(agent) == pixels[4:]
    with pytest.raises(tp.NotFoundError):
        shared.get(1, agent)
    more = tp.Checkpointer(shared.reopen(), agent).emit(C)
    assert more.seq == 6
    report = shared.verify(agent)
    assert (report.ok, report.count, report.head) == (True, 3, more.hash)


def test_a_stale_writer_gets_chain_conflict_and_the_checkpointer_retries(shared) -> None:
    agent = fresh_agent()
    a, b = shared, shared.reopen()
    first = tp.Checkpointer(a, agent).emit(C)
    stale = tp.Chain.resume([first])
    tp.Checkpointer(b, agent).emit(C)  # the other writer takes seq 1
    with pytest.raises(tp.StoreError) as info, a.transaction(agent) as tx:
        tx.append(stale.emit(C))
    assert info.value.code == "CHAIN_CONFLICT"
    # The Checkpointer re-reads the head and re-seals.
    cp = tp.Checkpointer(shared.reopen(), agent)
    tp.Checkpointer(b, agent).emit(C)
    assert cp.emit(C).seq == 3
    assert shared.verify(agent).ok


WRITER = textwrap.dedent(
    """
    import sys, tokenpixel as tp
    url, agent, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    cp = tp.Checkpointer(tp.open_store(url), agent, session_id=tag, retries=1000)
    for i in range(n):
        p = cp.emit("DISTRICT_4.CHAMBER_EXEC.NODE_POST", state={"w": tag, "i": i})
        print(p.hash, flush=True)  # acknowledged
    """
)


def run_writers(url: str, agent: str, count: int, n: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, agent, str(n), f"w{k}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(count)
    ]


def check_race(store, agent: str, acknowledged: set[str], total: int) -> None:
    lines = list(store.lines(agent))
    pixels = [tp.TokenPixel.from_json(line) for line in lines]
    assert [p.seq for p in pixels] == list(range(total))
    assert acknowledged <= {p.hash for p in pixels}
    report = store.verify(agent)
    assert (report.ok, report.count) == (True, total)


def test_eight_writers_race_on_one_agent_without_a_fork(shared) -> None:
    agent = fresh_agent()
    n = 60 if isinstance(shared, S3Store) else 200
    procs = run_writers(shared.url, agent, 8, n)
    acknowledged: set[str] = set()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        acknowledged |= set(out.split())
    assert len(acknowledged) == 8 * n
    check_race(shared, agent, acknowledged, 8 * n)


def test_kill_9_loses_no_acknowledged_pixel(shared) -> None:
    agent = fresh_agent()
    victim = run_writers(shared.url, agent, 1, 100_000)[0]
    others = run_writers(shared.url, agent, 2, 40)
    acknowledged: set[str] = set()
    assert victim.stdout is not None
    while len(acknowledged) < 30:
        acknowledged.add(victim.stdout.readline().strip())
    victim.send_signal(signal.SIGKILL)
    out, _ = victim.communicate(timeout=60)
    acknowledged |= set(out.split())
    for proc in others:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        acknowledged |= set(out.split())
    after = tp.Checkpointer(shared.reopen(), agent).emit(C)  # the next writer goes on
    total = after.seq + 1
    check_race(shared, agent, acknowledged | {after.hash}, total)


# -- PostgreSQL ------------------------------------------------------------------------------------


def test_pg_setup_is_idempotent_and_versioned(servers) -> None:
    store = pg_store(servers)
    assert store.setup() == 2
    assert store.setup() == 2
    assert store.schema_version() == len(tp._native.PG_MIGRATIONS) == 2
    with psycopg.connect(servers["TOKENPIXEL_TEST_PG"], autocommit=True) as conn:
        conn.execute("INSERT INTO tokenpixel_schema_version (version) VALUES (99)")
        try:
            with pytest.raises(tp.StoreError) as info:
                store.setup()
            assert info.value.code == "STORE_IO"
            assert "upgrade tokenpixel" in str(info.value)
        finally:
            conn.execute("DELETE FROM tokenpixel_schema_version WHERE version = 99")
    store.close()


def test_pg_the_database_refuses_a_forked_row(servers) -> None:
    store = pg_store(servers)
    agent = fresh_agent()
    cp = tp.Checkpointer(store, agent)
    p0, p1 = cp.emit(C), cp.emit(C)
    fork = tp.Chain.resume([p0]).emit(C, state={"fork": True})
    after_p1 = tp.Chain.resume([p1], anchor=p1.prev_hash).emit(C)
    insert = (
        "INSERT INTO tokenpixel_pixels (agent_id, seq, hash, prev_hash, corridor, timestamp_ms,"
        " line) VALUES (%s, %s, %s, %s, %s, %s, %s)"
    )

    def row(p, seq=None, prev=None):
        return (
            agent,
            p.seq if seq is None else seq,
            p.hash,
            prev or p.prev_hash,
            p.corridor,
            p.timestamp_ms,
            p.to_json(),
        )

    with psycopg.connect(servers["TOKENPIXEL_TEST_PG"], autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, row(fork))  # seq 1 is taken
        for bad in (row(after_p1, seq=3), row(after_p1, prev=p0.hash), row(p0, seq=0)):
            with pytest.raises(psycopg.Error) as info:
                conn.execute(insert, bad)
            assert info.value.sqlstate in ("TP001", "23505")
        conn.execute(insert, row(after_p1))  # the right next row is accepted
    assert store.verify(agent).count == 3
    store.close()


def test_pg_follow_yields_commits_in_order(servers) -> None:
    store = pg_store(servers)
    agent = fresh_agent()
    cp = tp.Checkpointer(store, agent)
    cp.emit(C)
    seen: list[int] = []
    started = threading.Event()

    def follower() -> None:
        feed = store.follow(agent, poll=0.5)
        started.set()
        for p in feed:
            seen.append(p.seq)
            if len(seen) == 5:
                feed.close()
                return

    thread = threading.Thread(target=follower)
    thread.start()
    started.wait()
    time.sleep(0.3)
    writer = tp.Checkpointer(pg_store(servers), agent)
    for _ in range(5):
        writer.emit(C)
    thread.join(20)
    assert seen == [1, 2, 3, 4, 5]
    # From a given seq: what is there, then nothing more until a commit.
    feed = store.follow(agent, after=3, poll=0.2)
    assert [next(feed).seq, next(feed).seq] == [4, 5]
    feed.close()
    store.close()


def test_pg_afollow(servers) -> None:
    import asyncio

    store = pg_store(servers)
    agent = fresh_agent()
    cp = tp.Checkpointer(store, agent)
    cp.emit(C)

    async def main() -> list[int]:
        got = []
        gen = store.afollow(agent, after=-1, poll=0.3)

        async def write() -> None:
            await asyncio.sleep(0.3)
            await asyncio.to_thread(lambda: [cp.emit(C) for _ in range(2)])

        task = asyncio.create_task(write())
        async for p in gen:
            got.append(p.seq)
            if len(got) == 3:
                break
        await gen.aclose()
        await task
        return got

    assert asyncio.run(main()) == [0, 1, 2]
    store.close()


def test_pg_lock_timeout_is_store_locked(servers) -> None:
    store = pg_store(servers)
    agent = fresh_agent()
    tp.Checkpointer(store, agent).emit(C)
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with store.transaction(agent):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    quick = PostgresStore(servers["TOKENPIXEL_TEST_PG"], lock_timeout=0.2)
    try:
        with pytest.raises(tp.StoreError) as info:
            tp.Checkpointer(quick, agent, retries=0).emit(C)
        assert info.value.code == "STORE_LOCKED"
    finally:
        release.set()
        thread.join()
        quick.close()
    assert tp.Checkpointer(store, agent).emit(C).seq == 1
    store.close()


def test_pg_unreachable_server_is_store_io(tmp_path) -> None:
    store = PostgresStore(f"postgresql://nobody@/postgres?host={tmp_path}", connect_timeout=2)
    with pytest.raises(tp.StoreError) as info:
        store.agents()
    assert info.value.code == "STORE_IO"


# -- S3 ------------------------------------------------------------------------------------------


def test_s3_server_enforces_if_none_match(servers) -> None:
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client("s3")
    key = f"probe-{uuid.uuid4().hex}"
    results = []

    def create(i: int) -> None:
        try:
            client.put_object(
                Bucket=servers["TOKENPIXEL_TEST_BUCKET"], Key=key, Body=b"%d" % i, IfNoneMatch="*"
            )
            results.append(i)
        except ClientError as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] in (409, 412)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1


def test_s3_layout_is_the_spec(servers) -> None:
    import boto3

    store = s3_store(servers)
    agent = fresh_agent()
    pixels = [tp.Checkpointer(store, agent).emit(C, state={"i": i}) for i in range(3)]
    client = boto3.client("s3")
    bucket = servers["TOKENPIXEL_TEST_BUCKET"]
    listed = client.list_objects_v2(Bucket=bucket, Prefix=store.prefix)["Contents"]
    keys = sorted(item["Key"] for item in listed)
    base = f"{store.prefix}{agent}/"
    assert keys == [base + "head"] + [base + f"p/{i:016d}" for i in range(3)]
    for i, p in enumerate(pixels):
        body = client.get_object(Bucket=bucket, Key=base + f"p/{i:016d}")["Body"].read()
        assert body == (p.to_json() + "\n").encode()
    hint = client.get_object(Bucket=bucket, Key=base + "head")["Body"].read()
    assert hint == b'{"seq":2}'


def test_s3_head_discovery_with_stale_wrong_and_missing_hints(servers) -> None:
    import boto3

    store = s3_store(servers)
    agent = fresh_agent()
    cp = tp.Checkpointer(store, agent)
    pixels = [cp.emit(C) for _ in range(37)]
    client = boto3.client("s3")
    bucket, hint = servers["TOKENPIXEL_TEST_BUCKET"], f"{store.prefix}{agent}/head"
    for body in (b'{"seq":3}', b'{"seq":999}', b"garbage", None):
        if body is None:
            client.delete_object(Bucket=bucket, Key=hint)
        else:
            client.put_object(Bucket=bucket, Key=hint, Body=body)
        fresh = s3_store(servers, store.prefix)
        assert fresh.latest(agent) == pixels[-1]
        assert tp.Checkpointer(fresh, agent).emit(C).seq == len(pixels)
        pixels.append(fresh.latest(agent))


def test_s3_long_chains_are_read_from_segments(servers) -> None:
    store = s3_store(servers)
    agent = fresh_agent()
    chain = tp.Chain(agent, "s")
    pixels = [chain.emit(C, state={"i": i}, timestamp_ms=1000 + i) for i in range(2050)]
    with store.transaction(agent) as tx:
        tx.extend(pixels)  # writes segments 0-999 and 1000-1999 on the way
    segments = store._segments(agent)
    assert [(f, last) for f, last, _ in segments] == [(0, 999), (1000, 1999)]
    gets = []
    reader = s3_store(servers, store.prefix)
    reader.client.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **kw: gets.append(params["Key"])
    )
    report = reader.verify(agent)
    assert (report.ok, report.count, report.head) == (True, 2050, pixels[-1].hash)
    assert len([k for k in gets if "/s/" in k]) == 2
    assert len([k for k in gets if "/p/" in k]) == 50
    assert store.compact(agent) == 0  # nothing left to compact
    # A tampered segment is caught by verification, at the right pixel.
    import boto3

    client = boto3.client("s3")
    bucket = servers["TOKENPIXEL_TEST_BUCKET"]
    body = client.get_object(Bucket=bucket, Key=segments[1][2])["Body"].read()
    client.put_object(
        Bucket=bucket, Key=segments[1][2], Body=body.replace(b'"i":1500', b'"i":1501')
    )
    report = reader.verify(agent)
    assert (report.ok, report.error.code, report.error.index) == (False, "HASH_MISMATCH", 1500)


def test_s3_missing_bucket_is_store_io(servers) -> None:
    store = S3Store(f"no-such-bucket-{uuid.uuid4().hex[:8]}")
    with pytest.raises(tp.StoreError) as info:
        tp.Checkpointer(store, fresh_agent()).emit(C)
    assert info.value.code == "STORE_IO"
    assert store.bucket in str(info.value)


# -- URLs, sync, verify --all ---------------------------------------------------------------------


def test_open_store_urls(tmp_path, servers, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert isinstance(tp.open_store("dir"), tp.JsonlStore)
    assert tp.open_store(f"file://{tmp_path}/x").directory == f"{tmp_path}/x"
    rel = tp.open_store("sqlite:///rel.db")
    assert isinstance(rel, tp.SqliteStore) and rel.path == "rel.db"
    absolute = tp.open_store(f"sqlite:///{tmp_path}/abs.db")
    assert absolute.path == f"{tmp_path}/abs.db"
    s3 = tp.open_store("s3://tokenpixel-test/some/prefix")
    assert (s3.bucket, s3.prefix) == ("tokenpixel-test", "some/prefix/")
    pg = tp.open_store(servers["TOKENPIXEL_TEST_PG"])
    assert isinstance(pg, PostgresStore) and pg.schema_version() == 2
    pg.close()
    for bad in ("ftp://x", "mongodb://y", "s3://", "sqlite:relative.db", ""):
        with pytest.raises(tp.ArgumentError) as info:
            tp.open_store(bad)
        assert "s3://" in str(info.value) or "sqlite:///" in str(info.value) or bad == ""


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "tokenpixel", *args], capture_output=True, text=True, cwd=cwd
    )


def test_sync_between_every_kind_of_store(tmp_path, servers) -> None:
    agent = fresh_agent()
    urls = [
        str(tmp_path / "jsonl"),
        f"sqlite:///{tmp_path}/chains.db",
        servers["TOKENPIXEL_TEST_PG"],
        f"s3://{servers['TOKENPIXEL_TEST_BUCKET']}/sync-{uuid.uuid4().hex[:8]}",
    ]
    source = tp.open_store(urls[0])
    cp = tp.Checkpointer(source, agent)
    pixels = [cp.emit(C, state={"i": i}) for i in range(7)]
    signer = tp.NoteSigner("example.com/sync", bytes(32))
    note = signing.sign_head(source, agent, signer)
    source.prune(5, agent)  # an anchored chain travels with its anchor record (and frontier)
    frontier = source.anchor_record(agent)[2]
    assert frontier is not None
    # A ring: JSONL -> SQLite -> PostgreSQL -> S3 -> a second JSONL.
    ring = [*urls, str(tmp_path / "back")]
    for src, dst in zip(ring, ring[1:]):
        r = cli("--agent", agent, "sync", src, dst)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "copied 5 pixels" in r.stdout
        store = tp.open_store(dst)
        assert store.latest(agent) == pixels[-1]
        assert store.anchor(agent) == pixels[1].hash
        assert store.anchor_record(agent) == (pixels[1].hash, 2, frontier)
        assert store.verify(agent).ok
        # The signed checkpoint of the whole chain still verifies on the pruned copy.
        assert signing.verify_signed(store, agent, [signer.verifier], note=note).size == 7
    # Incremental: only what DST lacks; then nothing; then a prefix.
    cp.emit(C)
    r = cli("--agent", agent, "sync", urls[0], urls[3])
    assert r.returncode == 0 and "copied 1 pixels" in r.stdout, r.stdout
    r = cli("--agent", agent, "sync", urls[0], urls[3])
    assert r.returncode == 0 and "up-to-date" in r.stdout
    r = cli("--agent", agent, "sync", urls[2], urls[3])
    assert r.returncode == 0 and "prefix" in r.stdout, r.stdout
    # Diverged: DST went its own way.
    tp.Checkpointer(tp.open_store(urls[1]), agent).emit(C, state={"other": 1})
    r = cli("--agent", agent, "sync", urls[0], urls[1])
    assert r.returncode == 1 and "diverged at seq 7" in r.stdout, r.stdout
    r = cli("--agent", agent, "sync", "ftp://nope", urls[1])
    assert r.returncode == 2


def test_sync_resumes_and_refuses_a_tampered_source(tmp_path) -> None:
    agent = fresh_agent()
    src, dst = tmp_path / "src", tmp_path / "dst"
    cp = tp.Checkpointer(tp.JsonlStore(src), agent)
    pixels = [cp.emit(C, state={"i": i}) for i in range(1200)]
    with tp.JsonlStore(dst).transaction(agent) as tx:  # a copy cut short
        tx.extend(pixels[:700])
    r = cli("--agent", agent, "sync", str(src), str(dst))
    assert r.returncode == 0 and "copied 500 pixels" in r.stdout, r.stdout
    assert tp.JsonlStore(dst).latest(agent) == pixels[-1]
    # SRC goes on, and one of the new pixels is tampered with: the copy stops before it.
    more = [cp.emit(C, state={"m": k}) for k in range(3)]
    path = src / f"pixels_{agent}.jsonl"
    path.write_text(path.read_text().replace('"m":1', '"m":7'))
    r = cli("--agent", agent, "sync", str(src), str(dst))
    assert r.returncode == 1 and "HASH_MISMATCH" in r.stdout, r.stdout
    assert tp.JsonlStore(dst).latest(agent) == more[0]
    assert tp.JsonlStore(dst).verify(agent).ok


def test_verify_all_in_parallel(servers) -> None:
    store = pg_store(servers)
    agents = sorted(fresh_agent() for _ in range(3))
    for a in agents:
        tp.Checkpointer(store, a).emit(C)
    with psycopg.connect(servers["TOKENPIXEL_TEST_PG"], autocommit=True) as conn:
        conn.execute(
            "UPDATE tokenpixel_pixels SET line = replace(line, 'CHAMBER_0', 'CHAMBER_9')"
            " WHERE agent_id = %s",
            (agents[1],),
        )
    r = cli("--store", servers["TOKENPIXEL_TEST_PG"], "verify", "--all", "--jobs", "4", "--json")
    assert r.returncode == 1
    import json

    rows = {row["agent"]: row for row in json.loads(r.stdout)}
    assert rows[agents[0]]["ok"] and rows[agents[2]]["ok"]
    bad = rows[agents[1]]
    assert (bad["ok"], bad["error"]["code"], bad["error"]["index"]) == (False, "HASH_MISMATCH", 0)
    r = cli("--store", servers["TOKENPIXEL_TEST_PG"], "verify", "--all")
    assert r.returncode == 1
    assert f"{agents[1]}" in r.stdout and "FAIL HASH_MISMATCH" in r.stdout
    with psycopg.connect(servers["TOKENPIXEL_TEST_PG"], autocommit=True) as conn:
        conn.execute("DELETE FROM tokenpixel_pixels WHERE agent_id = %s", (agents[1],))
    store.close()


def test_pg_kill_9_mid_transaction_rolls_back_and_frees_the_lock(servers) -> None:
    store = pg_store(servers)
    agent = fresh_agent()
    first = tp.Checkpointer(store, agent).emit(C)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time, tokenpixel as tp
                store = tp.open_store(sys.argv[1])
                with store.transaction(sys.argv[2]) as tx:
                    head = tx.head()
                    tx.append(tp.Chain.resume([head]).emit(sys.argv[3], state={"lost": True}))
                    print("inside", flush=True)  # appended, not committed: not acknowledged
                    time.sleep(60)
                """
            ),
            servers["TOKENPIXEL_TEST_PG"],
            agent,
            C,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "inside"
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    start = time.monotonic()
    after = tp.Checkpointer(pg_store(servers), agent).emit(C)  # the lock is free again
    assert time.monotonic() - start < 10
    assert after.seq == 1 and after.prev_hash == first.hash
    assert [p.seq for p in store.list(agent)] == [0, 1]
    assert all("lost" not in (p.state or {}) for p in store.list(agent))
    assert store.verify(agent).ok
    store.close()


NODE_WRITER = """
import { Checkpointer, openStore } from "tokenpixel/node";
const [url, agent, n, tag] = process.argv.slice(1);
const store = await openStore(url);
const cp = new Checkpointer(store, agent, { sessionId: tag, retries: 1000 });
for (let i = 0; i < Number(n); i++) {
  const p = await cp.emitAsync("DISTRICT_4.CHAMBER_EXEC.NODE_POST", { state: { w: tag, i } });
  process.stdout.write(p.hash + "\\n");  // acknowledged
}
await store.close?.();
"""


def test_python_and_node_writers_race_on_one_agent(shared) -> None:
    """Four Python and four Node processes append to one agent at once (issue 11)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    agent = fresh_agent()
    n = 200
    procs = run_writers(shared.url, agent, 4, n)
    procs += [
        subprocess.Popen(
            ["node", "--input-type=module", "-e", NODE_WRITER, shared.url, agent, str(n), f"n{k}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=os.path.join(root, "pkg"),
        )
        for k in range(4)
    ]
    acknowledged: set[str] = set()
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        acknowledged |= set(out.split())
    assert len(acknowledged) == 8 * n
    check_race(shared, agent, acknowledged, 8 * n)
    sessions = {tp.TokenPixel.from_json(line).session_id for line in shared.lines(agent)}
    assert sessions == {f"w{k}" for k in range(4)} | {f"n{k}" for k in range(4)}
