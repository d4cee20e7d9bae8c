"""tokenpixel: tamper-evident, canonically hashed checkpoints for AI agents and CI/CD pipelines.

Every rule (canonical JSON, hashing, linking, verification) lives in the Rust core; this
package converts values and keeps pixels where you keep data (JSONL files, SQLite, S3, PostgreSQL).
"""

from tokenpixel._native import (
    ERROR_CODES,
    GENESIS_HASH,
    SCHEMA_VERSION,
    ArgumentError,
    Chain,
    ChainError,
    Diff,
    JsonError,
    JsonlVerifier,
    NoteSigner,
    SchemaError,
    SignatureError,
    StoreError,
    Summary,
    TokenPixel,
    TokenPixelError,
    VerifyError,
    VerifyReport,
    __version__,
    canonical_json,
    canonicalize,
    diff,
    diff_range,
    estimate_tokens,
    summarize,
    validate_corridor,
    verify,
    verify_jsonl,
)
from tokenpixel.checkpointer import Checkpointer, CheckpointEvent, Stage
from tokenpixel.districts import District, corridor
from tokenpixel.errors import NotFoundError
from tokenpixel.pg_store import PostgresStore
from tokenpixel.s3_store import S3Store
from tokenpixel.store import JsonlStore, Recovery, SqliteStore, Store, Transaction
from tokenpixel.summarizer import ContextSummarizer, restore_env
from tokenpixel.triggers import EventTriggeredCheckpointer, PeriodicCheckpointer
from tokenpixel.urls import open_store

__all__ = [
    "ERROR_CODES",
    "GENESIS_HASH",
    "SCHEMA_VERSION",
    "ArgumentError",
    "Chain",
    "ChainError",
    "CheckpointEvent",
    "Checkpointer",
    "ContextSummarizer",
    "Diff",
    "District",
    "EventTriggeredCheckpointer",
    "JsonError",
    "JsonlStore",
    "JsonlVerifier",
    "NotFoundError",
    "NoteSigner",
    "PeriodicCheckpointer",
    "PostgresStore",
    "Recovery",
    "S3Store",
    "SchemaError",
    "SignatureError",
    "SqliteStore",
    "Stage",
    "Store",
    "StoreError",
    "Summary",
    "TokenPixel",
    "TokenPixelError",
    "Transaction",
    "VerifyError",
    "VerifyReport",
    "__version__",
    "canonical_json",
    "canonicalize",
    "corridor",
    "diff",
    "diff_range",
    "estimate_tokens",
    "open_store",
    "restore_env",
    "summarize",
    "validate_corridor",
    "verify",
    "verify_jsonl",
]
