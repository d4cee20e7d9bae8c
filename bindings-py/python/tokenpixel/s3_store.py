"""An S3 store for fleets (docs/SPEC.md 12.9 and 12.11), on boto3 (`pip install
tokenpixel[s3]`); works with AWS S3 and S3-compatible servers (MinIO, R2, GCS interop).

One object per pixel, `<prefix><agent>/p/<16-digit seq>`, created only with `If-None-Match: *`:
of two writers racing for one seq exactly one wins, the other gets CHAIN_CONFLICT. No lock
service. Long chains are read from 1000-pixel segment objects written by compaction.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, Union

from tokenpixel._native import (
    JsonlVerifier,
    TokenPixel,
    anchor_record,
    parse_anchor_record,
    parse_key,
    pixel_not_found_message,
    validate_agent_id,
)
from tokenpixel.errors import error
from tokenpixel.store import (
    AnchorRecord,
    PixelKey,
    Store,
    Transaction,
    _check_limit,
    _pruned_frontier,
    _replacement,
    _Session,
)

SEGMENT = 1000
PREFETCH = 8
DIGITS = 16
_CONFLICT_CODES = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
_MISSING_CODES = ("404", "NoSuchKey", "NotFound")


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise error(
            "INVALID_ARGUMENT", "S3Store needs boto3: pip install 'tokenpixel[s3]'"
        ) from None
    return boto3


def _num(seq: int) -> str:
    return f"{seq:0{DIGITS}d}"


class S3Store(Store):
    """Chains in an S3 bucket under `prefix` (SPEC 12.11). `client` is a boto3 S3 client;
    by default one from boto3's standard configuration (environment, profiles,
    `AWS_ENDPOINT_URL_S3`). The bucket must exist: the store never creates one."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None):
        if not isinstance(bucket, str) or not bucket:
            raise error("INVALID_ARGUMENT", "bucket must be a non-empty string")
        if not isinstance(prefix, str):
            raise error("INVALID_ARGUMENT", "prefix must be a string")
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        if client is None:
            client = _boto3().client("s3")
        self.client = client
        # The head this store object last wrote, per agent: the next append tries seq + 1
        # at once (one request); a conflict drops it (SPEC 12.9).
        self._heads: dict[str, TokenPixel] = {}
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Store({self.bucket!r}, {self.prefix!r})"

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    # -- requests --------------------------------------------------------------------------------

    def _code(self, exc: Exception) -> str:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return code or status

    def _fail(self, exc: Exception, what: str) -> Exception:
        code = self._code(exc)
        if code == "NoSuchBucket":
            return error("STORE_IO", f"the bucket {self.bucket} does not exist ({what})")
        return error("STORE_IO", f"S3 {self}: cannot {what}: {exc}")

    @contextlib.contextmanager
    def _requests(self, what: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            raise self._fail(exc, what) from None
        except BotoCoreError as exc:
            raise error("STORE_IO", f"S3 {self}: cannot {what}: {exc}") from None

    def _key(self, agent: str, kind: str, seq: Optional[int] = None) -> str:
        base = f"{self.prefix}{agent}/{kind}"
        return base if seq is None else f"{base}/{_num(seq)}"

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        with self._requests(f"read {key}"):
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
                return True
            except ClientError as exc:
                if self._code(exc) in _MISSING_CODES:
                    return False
                raise

    def _get(self, key: str) -> Optional[bytes]:
        from botocore.exceptions import ClientError

        with self._requests(f"read {key}"):
            try:
                return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if self._code(exc) in _MISSING_CODES:
                    return None
                raise

    def _text(self, body: bytes, key: str) -> str:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise error("STORE_CORRUPT", f"{key} is not UTF-8") from None
        if not text.endswith("\n") or "\n" in text[:-1]:
            raise error("STORE_CORRUPT", f"{key} does not hold exactly one line")
        return text[:-1]

    def _create(self, key: str, body: bytes) -> bool:
        """A conditional create: False when the key exists already."""
        from botocore.exceptions import ClientError

        with self._requests(f"write {key}"):
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    IfNoneMatch="*",
                    ContentType="application/x-ndjson",
                )
                return True
            except ClientError as exc:
                if self._code(exc) in _CONFLICT_CODES:
                    return False
                raise

    def _put(self, key: str, body: bytes) -> None:
        with self._requests(f"write {key}"):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def _keys(self, prefix: str, start_after: Optional[str] = None) -> Iterator[str]:
        """Keys under `prefix`, ascending, paginated."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if start_after:
            kwargs["StartAfter"] = start_after
        with self._requests(f"list {prefix}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                for item in page.get("Contents", []):
                    yield item["Key"]

    def _delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[i : i + 1000]]
            with self._requests("delete pruned objects"):
                self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )

    # -- chain structure -------------------------------------------------------------------------

    def _anchor_record(self, agent: str) -> Optional[AnchorRecord]:
        key = self._key(agent, "anchor")
        body = self._get(key)
        if body is None:
            return None
        return parse_anchor_record(body)

    def _hint(self, agent: str) -> Optional[int]:
        body = self._get(self._key(agent, "head"))
        if body is None:
            return None
        try:
            seq = json.loads(body).get("seq")
        except (ValueError, AttributeError):
            return None
        return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None

    def _head_seq(self, agent: str, first: int) -> Optional[int]:
        """The highest stored seq (SPEC 12.11): from the hint, galloping then bisecting."""
        start = None
        for candidate in (self._hint(agent), first):
            if (
                candidate is not None
                and candidate >= first
                and self._exists(self._key(agent, "p", candidate))
            ):
                start = candidate
                break
        if start is None:
            return None
        lo, step = start, 1
        while self._exists(self._key(agent, "p", lo + step)):
            lo += step
            step *= 2
        hi = lo + step
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._exists(self._key(agent, "p", mid)):
                lo = mid
            else:
                hi = mid
        return lo

    def _head_line(self, agent: str) -> Optional[str]:
        record = self._anchor_record(agent)
        seq = self._head_seq(agent, record[1] if record else 0)
        if seq is None:
            return None
        key = self._key(agent, "p", seq)
        body = self._get(key)
        if body is None:  # pruned or replaced meanwhile
            raise error("CHAIN_CONFLICT", f"{key} vanished while the head was read")
        return self._text(body, key)

    def _segments(self, agent: str) -> list[tuple[int, int, str]]:
        out = []
        base = self._key(agent, "s") + "/"
        for key in self._keys(base):
            name = key[len(base) :]
            first, sep, last = name.partition("-")
            if sep and first.isdigit() and last.isdigit() and len(first) == len(last) == DIGITS:
                out.append((int(first), int(last), key))
        return sorted(out)

    # -- the store interface ---------------------------------------------------------------------

    def agents(self) -> list[str]:
        found = []
        with self._requests(f"list {self.prefix or '/'}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"
            )
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    name = common["Prefix"][len(self.prefix) :].rstrip("/")
                    try:
                        validate_agent_id(name)
                    except Exception:
                        continue
                    found.append(name)
        return sorted(found, key=lambda a: a.encode("utf-16-be"))

    @contextlib.contextmanager
    def transaction(self, agent_id: str) -> Iterator[Transaction]:
        """Optimistic (SPEC 12.9): appends are conditional creates; no lock is taken."""
        validate_agent_id(agent_id)
        yield Transaction(agent_id, _S3Session(self, agent_id))

    def _require(self, agent: str) -> tuple[Optional[AnchorRecord], Optional[int]]:
        record = self._anchor_record(agent)
        head = self._head_seq(agent, record[1] if record else 0)
        if head is None and record is None:
            raise error("NOT_FOUND", f"no chain for agent {agent} in {self}")
        return record, head

    def anchor(self, agent_id: Optional[str] = None) -> Optional[str]:
        record = self.anchor_record(agent_id)
        return record[0] if record else None

    def anchor_record(self, agent_id: Optional[str] = None) -> Optional[AnchorRecord]:
        record, _ = self._require(self._agent(agent_id))
        return record

    def read_bytes_chunks(self, agent_id: Optional[str] = None) -> Iterator[bytes]:
        """The chain as JSONL bytes: segments, then the pixel objects after them."""
        agent = self._agent(agent_id)
        record, head = self._require(agent)
        return self._chunks(agent, record[1] if record else 0, head)

    def _fetched(self, keys: Iterable[str]) -> Iterator[tuple[str, Optional[bytes]]]:
        """(key, body) in order, fetched up to PREFETCH requests ahead on threads, so reading
        a chain costs round trips in parallel, not one after another."""
        with ThreadPoolExecutor(max_workers=PREFETCH) as pool:
            pending: deque = deque()
            for key in keys:
                pending.append((key, pool.submit(self._get, key)))
                if len(pending) >= PREFETCH * 2:
                    k, f = pending.popleft()
                    yield k, f.result()
            while pending:
                k, f = pending.popleft()
                yield k, f.result()

    def _chunks(self, agent: str, first: int, head: Optional[int]) -> Iterator[bytes]:
        expected = first
        usable = []
        for seg_first, seg_last, key in self._segments(agent):
            if seg_first < expected:
                continue
            if seg_first != expected or (head is not None and seg_last > head):
                break  # not contiguous: read the objects from here
            usable.append((seg_first, seg_last, key))
            expected = seg_last + 1
        expected = first
        ends = {key: (f, last) for f, last, key in usable}
        for key, body in self._fetched(k for _, _, k in usable):
            seg_first, seg_last = ends[key]
            if body is None:
                break  # pruned or replaced meanwhile: the objects follow
            if body.count(b"\n") != seg_last - seg_first + 1 or not body.endswith(b"\n"):
                raise error("STORE_CORRUPT", f"{key} does not hold {SEGMENT} lines")
            yield body
            expected = seg_last + 1
        if head is None:
            return
        start_after = self._key(agent, "p", expected - 1) if expected > 0 else None
        base = self._key(agent, "p") + "/"

        def tail() -> Iterator[str]:
            want = expected
            for key in self._keys(base, start_after):
                name = key[len(base) :]
                if not name.isdigit() or len(name) != DIGITS:
                    continue
                seq = int(name)
                if seq > head:
                    return
                if seq != want:
                    raise error(
                        "STORE_CORRUPT", f"{self}: agent {agent} has no object for seq {want}"
                    )
                want += 1
                yield key

        for key, body in self._fetched(tail()):
            if body is None:
                raise error("STORE_CORRUPT", f"{key} vanished while the chain was read")
            self._text(body, key)
            yield body

    def lines(self, agent_id: Optional[str] = None) -> Iterator[str]:
        for chunk in self.read_bytes_chunks(agent_id):
            text = chunk.decode("utf-8", errors="strict")
            yield from text[:-1].split("\n")

    def latest(self, agent_id: Optional[str] = None) -> Optional[TokenPixel]:
        agent = self._agent(agent_id)
        line = self._head_line(agent)
        if line is None:
            self._require(agent)
            return None
        return TokenPixel.from_json(line)

    def list(self, agent_id: Optional[str] = None, limit: Optional[int] = None) -> list[TokenPixel]:
        _check_limit(limit)
        agent = self._agent(agent_id)
        if limit is None:
            return list(self.iter(agent))
        record, head = self._require(agent)
        if head is None:
            return []
        first = max(record[1] if record else 0, head - limit + 1)
        out = []
        keys = (self._key(agent, "p", seq) for seq in range(first, head + 1))
        for key, body in self._fetched(keys):
            if body is None:
                raise error("STORE_CORRUPT", f"{key} vanished while the chain was read")
            out.append(TokenPixel.from_json(self._text(body, key)))
        return out

    def get(self, key: PixelKey, agent_id: Optional[str] = None) -> TokenPixel:
        kind, wanted = parse_key(key)
        if kind != "seq":
            return super().get(key, agent_id)
        agent = self._agent(agent_id)
        assert isinstance(wanted, int)
        record = self._anchor_record(agent)
        if record is None or wanted >= record[1]:
            object_key = self._key(agent, "p", wanted)
            body = self._get(object_key)
            if body is not None:
                return TokenPixel.from_json(self._text(body, object_key))
        self._require(agent)
        raise error("NOT_FOUND", pixel_not_found_message(agent, key))

    def _prune(self, agent: str, keep: int) -> int:
        with self.transaction(agent) as tx:
            session = tx._session
            assert isinstance(session, _S3Session)
            return session.prune(keep)

    def compact(self, agent_id: Optional[str] = None) -> int:
        """Writes the missing segments of complete 1000-pixel blocks (SPEC 12.11); returns
        how many it wrote."""
        agent = self._agent(agent_id)
        record, head = self._require(agent)
        if head is None:
            return 0
        first = record[1] if record else 0
        done = {(f, last) for f, last, _ in self._segments(agent)}
        written = 0
        block = -(-first // SEGMENT) * SEGMENT  # the first block boundary at or after first
        while block + SEGMENT - 1 <= head:
            if (block, block + SEGMENT - 1) not in done:
                written += self._compact_block(agent, block, record)
            block += SEGMENT
        return written

    def _compact_block(self, agent: str, block: int, record: Optional[AnchorRecord]) -> int:
        last = block + SEGMENT - 1
        if record is not None and block == record[1]:
            anchor: Optional[str] = record[0]
        elif block == 0:
            anchor = None
        else:
            key = self._key(agent, "p", block - 1)
            body = self._get(key)
            if body is None:
                return 0  # pruned meanwhile
            anchor = TokenPixel.from_json(self._text(body, key)).hash
        verifier = JsonlVerifier(anchor=anchor)
        parts = []
        for seq in range(block, last + 1):
            key = self._key(agent, "p", seq)
            body = self._get(key)
            if body is None:
                return 0
            self._text(body, key)
            verifier.feed(body)
            parts.append(body)
        report = verifier.finish()
        if not report.ok or report.count != SEGMENT:
            assert report.error is not None
            raise error(
                report.error.code,
                f"cannot compact seqs {block}..{last} of {agent}: {report.error.message}",
            )
        key = f"{self._key(agent, 's')}/{_num(block)}-{_num(last)}"
        return 1 if self._create(key, b"".join(parts)) else 0

    def remember(self, agent: str, pixel: Optional[TokenPixel]) -> None:
        with self._guard:
            if pixel is None:
                self._heads.pop(agent, None)
            else:
                self._heads[agent] = pixel

    def remembered(self, agent: str) -> Optional[TokenPixel]:
        with self._guard:
            return self._heads.get(agent)


class _S3Session(_Session):
    def __init__(self, store: S3Store, agent: str) -> None:
        self.store = store
        self.agent = agent
        self._trusted = store.remembered(agent)
        self._head: Optional[str] = None
        self._head_read = False

    def head_line(self) -> Optional[str]:
        if self._trusted is not None:
            return self._trusted.to_json()
        if not self._head_read:
            self._head = self.store._head_line(self.agent)
            self._head_read = True
        return self._head

    def anchor_record(self) -> Optional[AnchorRecord]:
        return self.store._anchor_record(self.agent)

    def append(self, pixel: Union[TokenPixel, str]) -> None:
        self.extend([pixel])

    def extend(self, pixels: Iterable[Union[TokenPixel, str]]) -> None:
        """Conditional creates in order; the hint is written once, after the last."""
        last = None
        try:
            for pixel in pixels:
                p = self.check_next(pixel, self._trusted)
                self._create(p)
                last = p
        finally:
            if last is not None:
                with contextlib.suppress(Exception):  # only a hint
                    self.store._put(self.store._key(self.agent, "head"), b'{"seq":%d}' % last.seq)

    def _create(self, p: TokenPixel) -> None:
        key = self.store._key(self.agent, "p", p.seq)
        if not self.store._create(key, (p.to_json() + "\n").encode()):
            self._trusted, self._head_read = None, False
            self.store.remember(self.agent, None)
            raise error(
                "CHAIN_CONFLICT",
                f"chain conflict: seq {p.seq} of agent {self.agent} was taken by another "
                "writer (re-read the head and re-seal)",
            )
        self._trusted = p
        self.store.remember(self.agent, p)
        if p.seq % SEGMENT == SEGMENT - 1:
            record = self.anchor_record()
            block = p.seq - SEGMENT + 1
            if record is None or block >= record[1]:
                self.store._compact_block(self.agent, block, record)

    def replace(
        self,
        lines: Iterable[Union[TokenPixel, str]],
        anchor: Optional[str],
        frontier: Optional[list[str]] = None,
    ) -> None:
        if self.head_line() is not None:
            raise error(
                "INVALID_ARGUMENT",
                "an S3 store replaces only an empty chain (it has no atomic rewrite): "
                "use prune() to shorten one",
            )
        pixels, first, _ = _replacement(lines, anchor, frontier)
        if anchor is not None:
            now = int(time.time() * 1000)
            record = anchor_record(anchor, first, now, frontier) + "\n"
            self.store._put(self.store._key(self.agent, "anchor"), record.encode())
        self.extend(pixels)

    def delete(self) -> bool:
        """Deletes every object of the agent: the anchor first, then segments and pixels from
        the newest (a delete cut short leaves a shorter chain, never a gap)."""
        self._trusted = None
        self.store.remember(self.agent, None)
        base = f"{self.store.prefix}{self.agent}/"
        keys = list(self.store._keys(base))
        pixels = sorted((k for k in keys if k.startswith(base + "p/")), reverse=True)
        first = [k for k in keys if k in (base + "anchor", base + "head")]
        rest = [k for k in keys if k not in pixels and k not in first]
        self.store._delete(first + rest + pixels)
        return bool(keys)

    def prune(self, keep: int) -> int:
        self._trusted = None
        self.store.remember(self.agent, None)
        record = self.anchor_record()
        first = record[1] if record else 0
        head = self.store._head_seq(self.agent, first)
        if head is None or head - first + 1 <= keep:
            return 0
        new_first = head - keep + 1
        key = self.store._key(self.agent, "p", new_first)
        body = self.store._get(key)
        if body is None:
            raise error("CHAIN_CONFLICT", f"{key} vanished while the chain was pruned")
        pixel = TokenPixel.from_json(self.store._text(body, key))
        removed = itertools.islice(self.store.lines(self.agent), new_first - first)
        hashes = [TokenPixel.from_json(line).hash for line in removed]
        if len(hashes) != new_first - first:
            raise error("CHAIN_CONFLICT", f"the chain of {self.agent} changed while it was pruned")
        frontier = _pruned_frontier(record, hashes)
        now = int(time.time() * 1000)
        line = anchor_record(pixel.prev_hash, new_first, now, frontier) + "\n"
        self.store._put(self.store._key(self.agent, "anchor"), line.encode())
        doomed = [k for f, last, k in self.store._segments(self.agent) if last < new_first]
        base = self.store._key(self.agent, "p") + "/"
        for k in self.store._keys(base):
            name = k[len(base) :]
            if name.isdigit() and int(name) >= new_first:
                break
            doomed.append(k)
        self.store._delete(doomed)
        return new_first - first
