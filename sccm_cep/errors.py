"""The one exception tree of sccm-cep: every failure a user can meet, with its exit code.

Each error names the phase it stopped in and what to do about it; ``sccm_cep.cli`` is the only
place that turns them into output and exit codes. Library errors are translated once, at
the boundary where they happen, and chained with ``from``.

    SccmCepError                      exit 1   (never raised bare)
    ├── ConfigError                   exit 3   settings, secret references, arguments
    │   └── PolicyError               exit 3   a policy file is broken or fails the lint
    ├── SourceError                            extraction from a site
    │   ├── SourceUnreachable         exit 4   retryable: host down, port closed, DNS
    │   ├── SourceAuthError           exit 5   the server refused the credentials
    │   ├── NotAnSccmSite             exit 6   a required SCCM view is missing
    │   └── SourceQueryError          exit 7   a statement failed on a reachable site
    ├── SubmissionError               exit 8   a document failed its schema (a bug: nothing written)
    ├── OutputError                   exit 9   the output could not be written
    └── NotConfirmed                  exit 13  the text to be sent was not confirmed as shown

Errors keep their data in named attributes, never by position in ``args``. Messages never
carry a secret or a value read from a site.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

__all__ = [
    "ConfigError",
    "ExitCode",
    "NotAnSccmSite",
    "NotConfirmed",
    "OutputError",
    "PolicyError",
    "SccmCepError",
    "SourceAuthError",
    "SourceError",
    "SourceQueryError",
    "SourceUnreachable",
    "StoreDamaged",
    "SubmissionError",
]


class ExitCode(IntEnum):
    """Every exit code of the ``sccm-cep`` program (README.md's table lists the same)."""

    OK = 0
    INTERNAL = 1  # a bug: only the error type is printed
    USAGE = 2  # wrong command line (click's own code)
    CONFIG = 3  # settings, secret references, policies, a missing extra
    UNREACHABLE = 4  # a source or the receiver did not answer; retry later
    AUTH = 5  # a source refused the login
    NOT_A_SITE = 6  # a required SCCM view is missing
    QUERY = 7  # a statement failed on a reachable site
    SCHEMA = 8  # a document failed its schema (a bug; nothing written)
    OUTPUT = 9  # the output could not be written
    RUN_FAILED = 10  # run: at least one site failed, the others were done
    QUARANTINED = 11  # the receiver refused a document; quarantined, never retried
    BUNDLE = 12  # a bundle was changed or cannot be read
    CANCELLED = 13  # "no" (or no answer) at a prompt; nothing was changed
    STORE = 14  # the state store is empty, not a database, foreign or damaged; nothing was changed
    INTERRUPTED = 130  # Ctrl-C


class SccmCepError(Exception):
    """Base of every expected failure; ``message`` says what happened, ``hint`` what to do."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL
    phase: ClassVar[str] = "run"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and the hint on one line, as the CLI prints it."""
        text = f"{self.phase}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return " ".join(text.split())


class ConfigError(SccmCepError):
    """A setting, argument or secret reference is wrong."""

    exit_code = ExitCode.CONFIG
    phase = "configuration"


class StoreDamaged(SccmCepError):
    """The state store exists but is empty, unreadable, not ours or missing a table: it is never
    silently replaced by a new one."""

    exit_code = ExitCode.STORE
    phase = "state store"


class PolicyError(ConfigError):
    """A policy file cannot be read or does not pass the lint."""

    phase = "policy"

    def __init__(self, message: str, *, hint: str | None = None, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems


class SourceError(SccmCepError):
    """Reading a site failed."""

    exit_code = ExitCode.QUERY
    phase = "extraction"


class SourceUnreachable(SourceError):
    """The site's server did not answer; trying again later may work."""

    exit_code = ExitCode.UNREACHABLE
    retryable = True


class SourceAuthError(SourceError):
    """The server answered but refused the login."""

    exit_code = ExitCode.AUTH


class NotAnSccmSite(SourceError):
    """The database lacks a view every SCCM site database has."""

    exit_code = ExitCode.NOT_A_SITE

    def __init__(self, message: str, *, hint: str | None = None, missing: tuple[str, ...] = ()):
        super().__init__(message, hint=hint)
        self.missing = missing


class SourceQueryError(SourceError):
    """A statement failed on a reachable site database."""

    exit_code = ExitCode.QUERY


class SubmissionError(SccmCepError):
    """A built document does not validate against the published schema."""

    exit_code = ExitCode.SCHEMA
    phase = "submission"


class OutputError(SccmCepError):
    """The output directory or file could not be written."""

    exit_code = ExitCode.OUTPUT
    phase = "output"


class NotConfirmed(SccmCepError):
    """Free text to be sent was not confirmed exactly as it was shown; nothing was stored."""

    exit_code = ExitCode.CANCELLED
    phase = "confirmation"
