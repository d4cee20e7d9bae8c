"""`tokenpixel`: the checkpoint command-line tool, over a store directory (`.checkpoints`).

Exit codes: 0 success (a valid chain for `verify`), 1 verification failed, 2 usage error or
unreadable input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import stat
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from tokenpixel import hooks
from tokenpixel._native import (
    JsonlVerifier,
    TokenPixel,
    TokenPixelError,
    VerifyReport,
    __version__,
    diff,
    parse_verifier_key,
    summarize,
    validate_agent_id,
    verify,
)
from tokenpixel.checkpointer import Checkpointer
from tokenpixel.store import CHUNK, JsonlStore, Store
from tokenpixel.urls import open_store as open_url

DEFAULT_STORE = ".checkpoints"
DEFAULT_CORRIDOR = "DISTRICT_0.CHAMBER_CLI.NODE_CHECKPOINT"
PROGRESS_MIN_BYTES = 8 << 20


class UsageError(Exception):
    """A problem with the command line or its input: exit code 2."""


def rfc3339(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def parse_var(raw: str) -> Any:
    """`--var k 5` stores the number 5, `--var k true` a boolean, anything else a string."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, (int, float, bool, type(None), list, dict)) else raw


def is_url(name: str) -> bool:
    return "://" in name or name.startswith(("sqlite:", "s3:", "postgres:", "postgresql:"))


def open_named(name: str) -> Store:
    """A store named by a path (JSONL) or a URL (SPEC 12.12)."""
    if not is_url(name):
        path = Path(name)
        if path.exists() and not path.is_dir():
            raise UsageError(f"--store {path} is not a directory")
    return open_url(name)


def open_store(args: argparse.Namespace) -> Store:
    return open_named(args.store)


def agent_of(args: argparse.Namespace, store: Store, *, creating: bool = False) -> str:
    """The agent named by --agent or TOKENPIXEL_AGENT (checked before it names any file), else
    the store's only agent."""
    named = args.agent or os.environ.get("TOKENPIXEL_AGENT")
    if named:
        validate_agent_id(named)
        return str(named)
    agents = store.agents()
    if len(agents) == 1:
        return agents[0]
    if not agents:
        if creating:
            return "cli-agent"
        raise UsageError(f"no checkpoints in {args.store}: create one with `tokenpixel now`")
    raise UsageError(f"{args.store} holds several agents ({', '.join(agents)}): pass --agent")


def find(store: Store, agent: str, key: Optional[str]) -> TokenPixel:
    """The newest pixel, or the one a key names (SPEC 12.6); warns if it fails its checks."""
    if key is None:
        head = store.latest(agent)
        if head is None:
            raise UsageError("no checkpoint found: create one with `tokenpixel now`")
        return warn_tampered([head])[0]
    return warn_tampered([store.get(key, agent)])[0]


def warn_tampered(pixels: list[TokenPixel]) -> list[TokenPixel]:
    """Prints a warning for every shown pixel that fails its own checks (hashes, schema). Whole
    chains are checked by `verify`; a store refuses to extend a tampered head."""
    for p in pixels:
        report = verify([p], anchor=p.prev_hash)
        if not report.ok:
            assert report.error is not None
            print(
                f"tokenpixel: warning: checkpoint seq {p.seq} fails verification: "
                f"{report.error.code}: {report.error.message} (run `tokenpixel verify`)",
                file=sys.stderr,
            )
    return pixels


def describe(p: TokenPixel) -> str:
    lines = [
        f"checkpoint {p.short_id}  seq {p.seq}  {rfc3339(p.timestamp_ms)}",
        f"  agent     {p.agent_id} (session {p.session_id})",
        f"  corridor  {p.corridor}",
        f"  autonomy  {p.autonomy_index}   events +{p.event_delta}"
        + (f"   intent {p.intent_hash}" if p.intent_hash else ""),
    ]
    if p.state_vector:
        lines.append("  vector    " + ", ".join(f"{k}={v}" for k, v in p.state_vector.items()))
    ctx = p.context or {}
    phase = ctx.get("phase")
    if phase:
        lines.append(f"  phase     {phase.get('name')} ({phase.get('status', '?')})")
    tasks = ctx.get("tasks") or []
    if tasks:
        lines.append(f"  tasks     {len(tasks)}, active {ctx.get('activeTaskId')}")
    if ctx.get("notes"):
        lines.append(f"  notes     {ctx['notes']}")
    for k, v in (ctx.get("variables") or {}).items():
        lines.append(f"  var       {k} = {json.dumps(v, ensure_ascii=False)}")
    if p.state:
        lines.append(f"  state     {len(p.state)} keys: {', '.join(list(p.state)[:8])}")
    lines.append(f"  hash      {p.hash}")
    lines.append(f"  stateHash {p.state_hash}")
    lines.append(f"  prevHash  {p.prev_hash}")
    return "\n".join(lines)


def cmd_now(args: argparse.Namespace) -> int:
    store = open_store(args)
    agent = agent_of(args, store, creating=True)
    cp = Checkpointer(store, agent, metrics=False)
    head = cp.head
    context: dict[str, Any] = dict((head.context if head else None) or {})
    if args.notes is not None:
        context["notes"] = args.notes
    if args.var:
        variables = dict(context.get("variables") or {})
        for key, value in args.var:
            variables[key] = parse_var(value)
        context["variables"] = variables
    pixel = cp.emit(args.corridor, context=context)
    if args.json:
        emit_json(pixel.to_dict())
    else:
        print(f"created checkpoint {pixel.short_id} (seq {pixel.seq}) for {agent} in {args.store}")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    """`load [ID]` and `show ID`: the checkpoint, described; `show` adds the full JSON."""
    store = open_store(args)
    agent = agent_of(args, store)
    pixel = find(store, agent, args.id)
    if args.json:
        emit_json(pixel.to_dict())
    else:
        print(describe(pixel))
        if args.command == "show":
            print(json.dumps(pixel.to_dict(), indent=2, ensure_ascii=False))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    agent = agent_of(args, store)
    pixels = warn_tampered(store.list(agent, limit=args.limit))
    if args.json:
        emit_json([p.to_dict() for p in pixels])
        return 0
    if not pixels:
        print(f"no checkpoints for {agent}")
        return 0
    print(f"{'seq':>6}  {'id':<12}  {'time (UTC)':<24}  corridor")
    for p in pixels:
        notes = (p.context or {}).get("notes")
        extra = f"  {notes}" if notes else ""
        print(f"{p.seq:>6}  {p.short_id:<12}  {rfc3339(p.timestamp_ms):<24}  {p.corridor}{extra}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    store = open_store(args)
    agent = agent_of(args, store)
    removed = store.prune(args.keep, agent)
    anchor = store.anchor(agent)
    if args.json:
        emit_json({"agentId": agent, "removed": removed, "kept": args.keep, "anchor": anchor})
    else:
        print(f"pruned {removed} checkpoints of {agent}; kept the newest {args.keep}")
        if anchor:
            print(f"anchor {anchor} (recorded in the store; keep a copy elsewhere to trust it)")
    return 0


class Progress:
    """A progress line on stderr for big inputs on a terminal."""

    def __init__(self, total: int, label: str):
        self.total = total
        self.label = label
        self.enabled = total >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
        self.last = -1

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        pct = int(100 * done / max(self.total, 1))
        if pct != self.last:
            self.last = pct
            sys.stderr.write(f"\rverifying {self.label}: {pct:3d}% ({done >> 20} MiB)")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def verify_chunks(
    chunks, total: int, label: str, anchor: Optional[str], jobs: int = 0
) -> VerifyReport:
    progress = Progress(total, label)
    verifier = JsonlVerifier(anchor=anchor, jobs=jobs)
    done = 0
    for chunk in chunks:
        verifier.feed(chunk)
        done += len(chunk)
        progress(done)
        if verifier.failed:
            break
    progress.close()
    return verifier.finish()


def verify_file(path: Path, anchor: Optional[str], jobs: int = 0) -> VerifyReport:
    """A chain file named on the command line (opened without blocking: a FIFO is refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{path} is not a regular file")
        chunks = iter(lambda: f.read(CHUNK), b"")
        return verify_chunks(chunks, st.st_size, str(path), anchor, jobs)


def anchor_for_file(path: Path, explicit: Optional[str]) -> Optional[str]:
    """The explicit anchor, else the one a store recorded beside `pixels_<agent>.jsonl`."""
    if explicit:
        return explicit
    name = path.name
    if name.startswith("pixels_") and name.endswith(".jsonl"):
        agent = name[len("pixels_") : -len(".jsonl")]
        with contextlib.suppress(TokenPixelError):
            validate_agent_id(agent)
            return JsonlStore(path.parent).anchor(agent)
    return None


def print_report(name: str, report: VerifyReport) -> None:
    if report.ok:
        print(f"OK    {name}: {report.count} pixels, head {report.head}")
        return
    e = report.error
    assert e is not None
    where = f"pixel {e.index}" + (f" (line {e.line})" if e.line else "")
    print(f"FAIL  {name}: {where}: {e.code}: {e.message}")


def cmd_verify(args: argparse.Namespace) -> int:
    results: list[tuple[str, VerifyReport]] = []
    if args.file:
        path = Path(args.file)
        if path.is_dir():
            raise UsageError(f"{path} is a directory: use --store {path}")
        anchor = anchor_for_file(path, args.anchor)
        results.append((str(path), verify_file(path, anchor, jobs_of(args))))
    else:
        if not is_url(args.store) and not Path(args.store).is_dir():
            raise UsageError(f"no store at {args.store}")
        store = open_named(args.store)
        named = args.agent or os.environ.get("TOKENPIXEL_AGENT")
        agents = [agent_of(args, store)] if named else store.agents()
        if not agents:
            raise UsageError(f"no chains in {args.store}")
        if args.key:
            return verify_keys(args, store, agents)
        if args.all:
            return verify_all(store, agents, args)
        for agent in agents:
            name, report = verify_agent(store, agent, args.anchor, jobs_of(args))
            results.append((name, report))
    if args.expect_head:
        if len(results) != 1:
            raise UsageError("--expect-head needs one chain: pass --agent or a file")
        name, r = results[0]
        if r.ok and r.head != args.expect_head:
            print(
                f"FAIL  {name}: the chain ends at {r.head}, expected {args.expect_head} "
                "(pixels were cut from the end, or the chain was replaced)"
            )
            return 1
    ok = all(r.ok for _, r in results)
    if args.json:
        emit_json({"ok": ok, "results": [{"file": name, **r.to_dict()} for name, r in results]})
    else:
        for name, r in results:
            print_report(name, r)
    return 0 if ok else 1


def jobs_of(args: argparse.Namespace) -> int:
    """Threads for one chain's lines: --jobs, else one per core (0)."""
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, got {args.jobs}")
    return args.jobs or 0


def verify_agent(
    store: Store, agent: str, anchor: Optional[str], jobs: int = 1
) -> tuple[str, VerifyReport]:
    """One stored chain, streamed (against its recorded anchor unless one is given)."""
    anchor = anchor or store.anchor(agent)  # NOT_FOUND, STORE_CORRUPT: exit 2
    chunks = store.read_bytes_chunks(agent)
    if isinstance(store, JsonlStore):
        path = store.path(agent)
        size = path.stat().st_size
        return str(path), verify_chunks(chunks, size, str(path), anchor, jobs)
    return f"{store} {agent}", verify_chunks(chunks, 0, agent, anchor, jobs)


def verify_all(store: Store, agents: list[str], args: argparse.Namespace) -> int:
    """`verify --all`: every chain, `--jobs` at a time (SPEC 12.13)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(agent: str) -> dict[str, Any]:
        try:
            _, r = verify_agent(store, agent, args.anchor)
        except TokenPixelError as e:  # an unreadable chain is a failed one
            return {
                "agent": agent,
                "count": 0,
                "head": None,
                "ok": False,
                "error": {"code": e.code, "index": None, "message": str(e)},
            }
        error = None
        if r.error is not None:
            error = {"code": r.error.code, "index": r.error.index, "message": r.error.message}
        return {"agent": agent, "count": r.count, "head": r.head, "ok": r.ok, "error": error}

    jobs = max(1, args.jobs or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(one, agents))
    ok = all(r["ok"] for r in rows)
    if args.json:
        emit_json(rows)
        return 0 if ok else 1
    width = max(5, *(len(r["agent"]) for r in rows))
    print(f"{'agent':<{width}}  {'pixels':>8}  {'head':<19}  result")
    for r in rows:
        head = (r["head"] or "-")[:19]
        result = "OK" if r["ok"] else f"FAIL {r['error']['code']}: {r['error']['message']}"
        print(f"{r['agent']:<{width}}  {r['count']:>8}  {head:<19}  {result}")
    failed = sum(not r["ok"] for r in rows)
    print(f"{len(rows)} chains, {failed} failed")
    return 0 if ok else 1


def cmd_sync(args: argparse.Namespace) -> int:
    """`sync SRC DST`: copies what DST lacks, verifying; refuses a divergence (SPEC 12.13)."""
    from tokenpixel.sync import sync_chain, terminal_progress

    src, dst = open_named(args.src), open_named(args.dst)
    named = args.agent or os.environ.get("TOKENPIXEL_AGENT")
    if named:
        validate_agent_id(named)
    agents = [named] if named else src.agents()
    if not agents:
        raise UsageError(f"no chains in {args.src}")
    worst = 0
    for agent in agents:
        progress = terminal_progress(agent)
        outcome = sync_chain(src, dst, agent, progress=progress)
        if progress is not None:
            sys.stderr.write("\n")
        print(f"{outcome.status:<10} {agent}: {outcome.message}")
        worst = max(worst, 0 if outcome.ok else 1)
    return worst


def cmd_keygen(args: argparse.Namespace) -> int:
    from tokenpixel import signing

    signer = signing.keygen(args.name)
    out = args.out or f"{args.name.replace('/', '_')}.key"
    signing.write_key(out, signer)
    print(signer.verifier)
    print(f"private key written to {out} (mode 0600): keep it secret", file=sys.stderr)
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    from tokenpixel import signing

    store = open_store(args)
    agent = agent_of(args, store)
    signer = signing.read_key(args.key)
    note = signing.sign_head(store, agent, signer, args.log or signer.name)
    if args.json:
        emit_json({"agentId": agent, "checkpoint": note})
    else:
        print(note, end="")
    return 0


def verify_keys(args: argparse.Namespace, store: Store, agents: list[str]) -> int:
    """`verify --key`: each chain and its signed checkpoint (SPEC 14.6)."""
    from tokenpixel import signing

    failed = 0
    for agent in agents:
        try:
            head = signing.verify_signed(store, agent, args.key, log=args.log)
        except TokenPixelError as e:
            failed += 1
            print(f"FAIL  {agent}: {e.code}: {e}")
            continue
        extra = f", {head.count - head.size} pixels after it" if head.count > head.size else ""
        print(
            f"OK    {agent}: signed by {', '.join(head.signed_by)} at size {head.size}"
            f" (root {head.root}){extra}"
        )
    return 1 if failed else 0


def cmd_prove(args: argparse.Namespace) -> int:
    from tokenpixel import signing

    store = open_store(args)
    agent = agent_of(args, store)
    text = signing.prove(store, agent, args.seq)
    if args.out:
        Path(args.out).write_text(text)
        print(f"proof of seq {args.seq} written to {args.out}")
    else:
        print(text, end="")
    return 0


def cmd_verify_proof(args: argparse.Namespace) -> int:
    from tokenpixel import signing

    try:
        text = Path(args.file).read_text()
    except OSError as e:
        raise UsageError(f"cannot read {args.file}: {e.strerror or e}") from None
    try:
        proved = signing.verify_proof(text, args.key)
    except TokenPixelError as e:
        if e.code in ("PROOF_INVALID", "BAD_SIGNATURE", "UNKNOWN_KEY", "HASH_MISMATCH"):
            print(f"FAIL  {args.file}: {e.code}: {e}")
            return 1
        raise
    print(
        f"OK    {args.file}: seq {proved['seq']} is in {proved['origin']} at size "
        f"{proved['size']}, signed by {', '.join(proved['signedBy'])}"
    )
    return 0


def cmd_consistency(args: argparse.Namespace) -> int:
    from tokenpixel import signing

    store = open_store(args)
    agent = agent_of(args, store)
    notes = []
    for name in (args.old, args.new):
        try:
            notes.append(Path(name).read_text())
        except OSError as e:
            raise UsageError(f"cannot read {name}: {e.strerror or e}") from None
    try:
        proof = signing.check_consistency(store, agent, notes[0], notes[1], args.key)
    except TokenPixelError as e:
        if e.code in ("PROOF_INVALID", "TRUNCATED", "ROOT_MISMATCH", "ORIGIN_MISMATCH"):
            print(f"FAIL  {e.code}: {e}")
            return 1
        raise
    print(f"OK    the newer checkpoint extends the older ({len(proof)} proof hashes)")
    for h in proof:
        print(h)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    store = open_store(args)
    agent = agent_of(args, store)
    if args.from_ is None and args.to is None:
        last = warn_tampered(store.list(agent, limit=2))
        if len(last) < 2:
            raise UsageError("diff needs two checkpoints: create another with `tokenpixel now`")
        a, b = last
    else:
        b = find(store, agent, args.to)
        if args.from_ is not None:
            a = find(store, agent, args.from_)
        else:
            if b.seq == 0:
                raise UsageError("the first checkpoint has no previous one: pass --from")
            a = find(store, agent, str(b.seq - 1))
    d = diff(a, b)
    if args.json:
        emit_json(d.to_dict())
    else:
        print(d.render(), end="")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    store = open_store(args)
    agent = agent_of(args, store)
    pixel = find(store, agent, args.id)
    keys = args.keys.split(",") if args.keys else None
    s = summarize(
        pixel, args.level, for_task=args.for_, relevant_keys=keys, max_tokens=args.max_tokens
    )
    if args.json:
        emit_json(s.to_dict())
    else:
        print(s.text)
    return 0


def read_object(path: str, what: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise UsageError(f"{what} {path} is not JSON: {e}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{what} {path} must hold a JSON object")
    return value


def github_mode(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "github", False)) or os.environ.get("GITHUB_ACTIONS") == "true"


def job_session() -> Optional[str]:
    """The session id for pipeline jobs: TOKENPIXEL_SESSION, or the GitHub run and job."""
    explicit = os.environ.get("TOKENPIXEL_SESSION")
    if explicit:
        return explicit
    run, job = os.environ.get("GITHUB_RUN_ID"), os.environ.get("GITHUB_JOB")
    if run and job:
        safe = "".join(c if c.isalnum() or c in "_.-" else "-" for c in f"gh-{run}-{job}")
        return safe[:128]
    return None


def write_github(head: str, pixels: list[TokenPixel]) -> None:
    """`head=` to $GITHUB_OUTPUT; a Markdown table of this job's pixels to the step summary."""
    out = os.environ.get("GITHUB_OUTPUT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(f"head={head}\n")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and pixels:
        rows = ["| seq | corridor | time (UTC) | hash |", "|---:|---|---|---|"]
        rows += [
            f"| {p.seq} | `{p.corridor}` | {rfc3339(p.timestamp_ms)} | `{p.short_id}` |"
            for p in pixels
        ]
        with open(summary, "a", encoding="utf-8") as f:
            f.write(f"### tokenpixel: {pixels[-1].agent_id}\n\n" + "\n".join(rows) + "\n\n")


def cmd_emit(args: argparse.Namespace) -> int:
    store = open_store(args)
    agent = agent_of(args, store, creating=True)
    state = read_object(args.state_file, "--state-file") if args.state_file else None
    context = read_object(args.context_file, "--context-file") if args.context_file else None
    cp = Checkpointer(store, agent, session_id=job_session(), metrics=False)
    if args.var:
        # --var sets variables in the given context, else in the one carried from the head.
        if context is None:
            head = cp.head
            context = dict((head.context if head else None) or {})
        variables = dict(context.get("variables") or {})
        for item in args.var:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise UsageError(f"--var takes KEY=VALUE, got {item!r}")
            variables[key] = parse_var(value)
        context = {**context, "variables": variables}
    fields: dict[str, Any] = {}
    if state is not None:
        fields["state"] = state
    if context is not None:
        fields["context"] = context
    pixel = cp.emit(args.corridor, **fields)
    print(pixel.hash)
    if github_mode(args):
        mine = [p for p in store.list(agent, limit=100) if p.session_id == cp.session_id]
        write_github(pixel.hash, mine)
    return 0


def cmd_hooks(args: argparse.Namespace) -> int:
    repo = Path(args.repo)
    try:
        if args.uninstall:
            print(hooks.uninstall(repo))
        else:
            store = str(Path(args.store).resolve())
            agent = args.agent or os.environ.get("TOKENPIXEL_AGENT")
            if agent:
                validate_agent_id(agent)
            print(hooks.install(repo, store, agent))
    except ValueError as e:
        if isinstance(e, TokenPixelError):
            raise
        raise UsageError(str(e)) from None
    return 0


def cmd_head(args: argparse.Namespace) -> int:
    store = open_store(args)
    agent = agent_of(args, store)
    head = store.latest(agent)
    if head is None:
        raise UsageError(f"the chain of {agent} is empty")
    print(head.hash)
    if github_mode(args):
        write_github(head.hash, [])
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from tokenpixel import view

    store = open_store(args)
    agent = args.agent or os.environ.get("TOKENPIXEL_AGENT")
    if agent:
        validate_agent_id(agent)
    keys = args.key or []
    for key in keys:
        parse_verifier_key(key)  # a bad key is a usage error now, not a red page later
    try:
        return view.serve(
            store,
            host=args.host,
            port=args.port,
            agent=agent,
            keys=keys,
            open_browser=not args.no_browser,
        )
    except view.ViewerMissing as e:
        raise UsageError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokenpixel",
        description="Tamper-evident checkpoints for agents and pipelines.",
    )
    parser.add_argument("--version", action="version", version=f"tokenpixel {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store", default=argparse.SUPPRESS, help=f"store directory (default {DEFAULT_STORE})"
    )
    common.add_argument(
        "--agent", default=argparse.SUPPRESS, help="agent id (default: the only one)"
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--store", default=DEFAULT_STORE, help=f"store directory (default {DEFAULT_STORE})"
    )
    parser.add_argument("--agent", default=None, help="agent id (default: the store's only agent)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("now", parents=[common], help="create a checkpoint now")
    p.add_argument("--notes", help="a note to record in the context")
    p.add_argument(
        "--var", nargs=2, action="append", metavar=("KEY", "VALUE"), help="set a variable"
    )
    p.add_argument(
        "--corridor", default=DEFAULT_CORRIDOR, help=f"corridor (default {DEFAULT_CORRIDOR})"
    )
    p.set_defaults(func=cmd_now)

    p = sub.add_parser("load", parents=[common], help="show the latest (or a given) checkpoint")
    p.add_argument("id", nargs="?", help="seq, hash or hash prefix")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("list", parents=[common], help="list checkpoints")
    p.add_argument("--limit", type=int, default=20, help="how many of the newest (default 20)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", parents=[common], help="show one checkpoint in full")
    p.add_argument("id", help="seq, hash or hash prefix")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("prune", parents=[common], help="keep only the newest checkpoints")
    p.add_argument("--keep", type=int, default=50, help="how many to keep (default 50)")
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser("diff", parents=[common], help="what changed between two checkpoints")
    p.add_argument("--from", dest="from_", help="earlier checkpoint (default: the one before --to)")
    p.add_argument("--to", help="later checkpoint (default: the latest)")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("summary", parents=[common], help="a token-budgeted context summary")
    p.add_argument("id", nargs="?", help="seq, hash or hash prefix (default: the latest)")
    p.add_argument("--level", default="compact", choices=["minimal", "compact", "standard", "full"])
    p.add_argument("--for", dest="for_", metavar="TASK", help="task kind, e.g. terraform")
    p.add_argument("--max-tokens", type=int, help="hard cap on estimated tokens")
    p.add_argument("--keys", help="comma-separated variables to include")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("verify", parents=[common], help="verify a chain file or a store")
    p.add_argument("file", nargs="?", help="a JSONL chain file (default: every chain in the store)")
    p.add_argument("--anchor", help="trusted hash a pruned chain's first pixel links to")
    p.add_argument(
        "--expect-head", metavar="HASH", help="exit 1 unless the chain ends at this hash"
    )
    p.add_argument("--all", action="store_true", help="every chain, in parallel, as a table")
    p.add_argument(
        "--key",
        action="append",
        metavar="VKEY",
        help="a verifier key: also check the signed checkpoint (repeatable)",
    )
    p.add_argument("--log", help="the log name the checkpoint's origin must start with")
    p.add_argument(
        "--jobs",
        type=int,
        help="threads (default: CPUs): chains verified at once with --all, "
        "else lines of a chain checked and hashed in parallel",
    )
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("keygen", parents=[common], help="a new Ed25519 signing key")
    p.add_argument("--name", required=True, help="the key (and log) name, e.g. example.com/ci")
    p.add_argument("--out", help="the private key file (default <name>.key; never overwritten)")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("sign", parents=[common], help="sign a checkpoint of the chain's head")
    p.add_argument("--key", required=True, help="the private key file")
    p.add_argument("--log", help="the log name in the origin (default: the key's name)")
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("prove", parents=[common], help="an inclusion proof file for one pixel")
    p.add_argument("--seq", type=int, required=True, help="the pixel's seq")
    p.add_argument("--out", help="write the proof here (default: stdout)")
    p.set_defaults(func=cmd_prove)

    p = sub.add_parser("verify-proof", parents=[common], help="check a proof file, no chain needed")
    p.add_argument("file", help="a proof file (c2sp.org/tlog-proof@v1)")
    p.add_argument("--key", action="append", required=True, metavar="VKEY", help="a verifier key")
    p.set_defaults(func=cmd_verify_proof)

    p = sub.add_parser("consistency", parents=[common], help="a newer checkpoint extends an older")
    p.add_argument("old", help="the older signed checkpoint file")
    p.add_argument("new", help="the newer signed checkpoint file")
    p.add_argument("--key", action="append", required=True, metavar="VKEY", help="a verifier key")
    p.set_defaults(func=cmd_consistency)

    p = sub.add_parser("sync", parents=[common], help="copy chains between stores, verifying")
    p.add_argument("src", help="the store to copy from (a path or URL)")
    p.add_argument("dst", help="the store to copy into (a path or URL)")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("emit", parents=[common], help="emit a pixel (for pipeline jobs)")
    p.add_argument("--corridor", required=True, help="e.g. DISTRICT_2.CHAMBER_LORA.NODE_POST")
    p.add_argument("--state-file", help="a JSON object: the pixel's state")
    p.add_argument("--context-file", help="a JSON object: the pixel's context")
    p.add_argument("--var", action="append", metavar="KEY=VALUE", help="set a context variable")
    p.add_argument("--github", action="store_true", help="write GitHub Actions outputs")
    p.set_defaults(func=cmd_emit)

    p = sub.add_parser("hooks", parents=[common], help="git hooks that checkpoint each commit")
    p.add_argument("action", choices=["install"], help="install the post-commit hook")
    p.add_argument("--uninstall", action="store_true", help="remove only tokenpixel's lines")
    p.add_argument("--repo", default=".", help="the git repository (default: here)")
    p.set_defaults(func=cmd_hooks)

    p = sub.add_parser("head", parents=[common], help="print the chain's head hash")
    p.add_argument("--github", action="store_true", help="also write head= to $GITHUB_OUTPUT")
    p.set_defaults(func=cmd_head)

    p = sub.add_parser("view", parents=[common], help="open the viewer on the store's chains")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free one)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument(
        "--key",
        action="append",
        metavar="VKEY",
        help="a verifier key: the page checks signed checkpoints with it (repeatable)",
    )
    p.set_defaults(func=cmd_view)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as e:
        print(f"tokenpixel: {e}", file=sys.stderr)
        return 2
    except TokenPixelError as e:
        print(f"tokenpixel: {e.code}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"tokenpixel: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
