"""tokenpixel: tamper-evident, canonically hashed checkpoints for AI agents and CI/CD pipelines.

Every rule (canonical JSON, hashing, linking, verification) lives in the Rust core; this
package converts values and keeps pixels where you keep data (JSONL files or SQLite).
"""

from tokenpixel._native import (
    ERROR_CODES,
    GENESIS_HASH,
    SCHEMA_VERSION,
    ArgumentError,
    Chain,
    ChainError,
    JsonError,
    JsonlVerifier,
    SchemaError,
    TokenPixel,
    TokenPixelError,
    VerifyError,
    VerifyReport,
    __version__,
    canonical_json,
    canonicalize,
    validate_corridor,
    verify,
    verify_jsonl,
)
from tokenpixel.checkpointer import Checkpointer, CheckpointEvent, Stage
from tokenpixel.store import JsonlStore, Recovery, SqliteStore, Store

__all__ = [
    "ERROR_CODES",
    "GENESIS_HASH",
    "SCHEMA_VERSION",
    "ArgumentError",
    "Chain",
    "ChainError",
    "CheckpointEvent",
    "Checkpointer",
    "JsonError",
    "JsonlStore",
    "JsonlVerifier",
    "Recovery",
    "SchemaError",
    "SqliteStore",
    "Stage",
    "Store",
    "TokenPixel",
    "TokenPixelError",
    "VerifyError",
    "VerifyReport",
    "__version__",
    "canonical_json",
    "canonicalize",
    "validate_corridor",
    "verify",
    "verify_jsonl",
]
