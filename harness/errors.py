"""Typed errors. Each message says what went wrong, where, and how to fix it."""

from __future__ import annotations


class HarnessError(Exception):
    """Base class: an error the CLI reports as a one-paragraph message instead of a traceback."""


class ConfigError(HarnessError):
    """A models or board file, or a command-line option, is invalid."""


class DataError(HarnessError):
    """A dataset could not be found, read, or understood."""


class StoreError(HarnessError):
    """A run directory is unreadable, locked, or inconsistent."""


class BackendError(HarnessError):
    """A model backend failed. `retryable` tells the runner whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool = False, status_code: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code


class SandboxError(HarnessError):
    """Untrusted code cannot be run with the isolation that was asked for."""
