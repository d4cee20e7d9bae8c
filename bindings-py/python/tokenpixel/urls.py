"""Store URLs (docs/SPEC.md 12.12): one string names any store, for `open_store` and the CLI's
`--store`."""

from __future__ import annotations

import os
import re
from typing import Any, Union
from urllib.parse import unquote, urlsplit

from tokenpixel.errors import error
from tokenpixel.store import JsonlStore, SqliteStore, Store

SCHEMES = "a directory path, file:///dir, sqlite:///path.db, s3://bucket/prefix, postgresql://..."
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def open_store(url: Union[str, os.PathLike[str]], **options: Any) -> Store:
    """The store a URL names (SPEC 12.12): a path or `file:///dir` (JSONL), `sqlite:///rel.db`
    or `sqlite:////abs.db`, `s3://bucket[/prefix]`, `postgresql://...` (its schema is set up).
    `options` go to the store's constructor (for example `fsync=True`, `client=...`)."""
    if isinstance(url, os.PathLike):
        return JsonlStore(url, **options)
    if not isinstance(url, str) or not url:
        raise error("INVALID_ARGUMENT", f"a store URL is a non-empty string ({SCHEMES})")
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if not match or (len(scheme) == 1 and os.name == "nt"):
        return JsonlStore(url, **options)
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise error("INVALID_ARGUMENT", f"{url}: a file URL names a local path (file:///dir)")
        return JsonlStore(unquote(parts.path), **options)
    if scheme == "sqlite":
        if not url.lower().startswith("sqlite:///") or len(url) <= len("sqlite:///"):
            raise error(
                "INVALID_ARGUMENT",
                f"{url}: write sqlite:///relative/path.db or sqlite:////absolute/path.db",
            )
        return SqliteStore(unquote(url[len("sqlite:///") :]), **options)
    if scheme == "s3":
        parts = urlsplit(url)
        if not parts.netloc:
            raise error("INVALID_ARGUMENT", f"{url}: write s3://bucket or s3://bucket/prefix")
        from tokenpixel.s3_store import S3Store

        return S3Store(parts.netloc, unquote(parts.path.lstrip("/")), **options)
    if scheme in ("postgresql", "postgres"):
        from tokenpixel.pg_store import PostgresStore

        store = PostgresStore(url, **options)
        store.setup()
        return store
    raise error(
        "INVALID_ARGUMENT", f"unknown store URL scheme {scheme!r} in {url!r}: use {SCHEMES}"
    )
