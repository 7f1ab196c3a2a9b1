"""The one exception tree of sccm-cep: every failure a user can meet, with its exit code.

Each error names the phase it stopped in and what to do about it; ``cli.py`` is the only
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
    └── OutputError                   exit 9   the output could not be written

Errors keep their data in named attributes, never by position in ``args``. Messages never
carry a secret or a value read from a site.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConfigError",
    "NotAnSccmSite",
    "OutputError",
    "PolicyError",
    "SccmCepError",
    "SourceAuthError",
    "SourceError",
    "SourceQueryError",
    "SourceUnreachable",
    "SubmissionError",
]


class SccmCepError(Exception):
    """Base of every expected failure; ``message`` says what happened, ``hint`` what to do."""

    exit_code: ClassVar[int] = 1
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

    exit_code = 3
    phase = "configuration"


class PolicyError(ConfigError):
    """A policy file cannot be read or does not pass the lint."""

    phase = "policy"

    def __init__(self, message: str, *, hint: str | None = None, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems


class SourceError(SccmCepError):
    """Reading a site failed."""

    exit_code = 7
    phase = "extraction"


class SourceUnreachable(SourceError):
    """The site's server did not answer; trying again later may work."""

    exit_code = 4
    retryable = True


class SourceAuthError(SourceError):
    """The server answered but refused the login."""

    exit_code = 5


class NotAnSccmSite(SourceError):
    """The database lacks a view every SCCM site database has."""

    exit_code = 6

    def __init__(self, message: str, *, hint: str | None = None, missing: tuple[str, ...] = ()):
        super().__init__(message, hint=hint)
        self.missing = missing


class SourceQueryError(SourceError):
    """A statement failed on a reachable site database."""

    exit_code = 7


class SubmissionError(SccmCepError):
    """A built document does not validate against the published schema."""

    exit_code = 8
    phase = "submission"


class OutputError(SccmCepError):
    """The output directory or file could not be written."""

    exit_code = 9
    phase = "output"
