"""The package's exceptions: one `TokenPixelError` base, a subclass per SPEC family, each with
the stable `.code` (docs/SPEC.md section 7)."""

from __future__ import annotations

from tokenpixel._native import (
    ArgumentError,
    ChainError,
    JsonError,
    SchemaError,
    StoreError,
    TokenPixelError,
    make_error,
)

__all__ = [
    "ArgumentError",
    "ChainError",
    "JsonError",
    "NotFoundError",
    "SchemaError",
    "StoreError",
    "TokenPixelError",
    "error",
]


class NotFoundError(StoreError, KeyError):
    """NOT_FOUND: no chain for that agent, or no pixel for that key. Also a `KeyError`."""

    code = "NOT_FOUND"
    reason = None

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "not found"


def error(code: str, message: str) -> TokenPixelError:
    """The exception for a SPEC code (NotFoundError for NOT_FOUND)."""
    if code == "NOT_FOUND":
        return NotFoundError(message)
    return make_error(code, message)
