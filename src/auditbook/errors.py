"""Exceptions raised by auditbook, one class per condition.

The CLI maps each class to an exit code through ``exit_code``.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_FAILING = 1
EXIT_ERROR = 2


class AuditbookError(Exception):
    """Base class for every error auditbook reports to a user."""

    exit_code = EXIT_ERROR


class ConfigError(AuditbookError):
    """The configuration is invalid.

    Attributes:
        path: the configuration file.
        line: the 1-based line of the offending key, when known.
        key: the dotted key that is wrong, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.key = key
        super().__init__(message)

    def __str__(self) -> str:
        return _located(self.path, self.line, super().__str__())


class ControlError(AuditbookError):
    """A control document is malformed.

    Attributes:
        path: the control document.
        line: the 1-based line at fault, when known.
    """

    def __init__(self, message: str, *, path: Path, line: int | None = None) -> None:
        self.path = path
        self.line = line
        super().__init__(message)

    def __str__(self) -> str:
        return _located(self.path, self.line, super().__str__())


class CollectionError(AuditbookError):
    """Collection could not start or could not finish."""


class AwsCallError(CollectionError):
    """An AWS API call failed after botocore's retries.

    Attributes:
        code: the AWS error code (``AccessDenied``, ``Throttling``) or, for a
            failure below the API such as a timeout, the botocore exception name.
        operation: ``service:Operation`` of the failed call.
    """

    def __init__(self, code: str, operation: str, message: str) -> None:
        self.code = code
        self.operation = operation
        super().__init__(f"{operation} failed with {code}: {message}")


class EvidenceError(AuditbookError):
    """An evidence run is missing, incomplete, altered or cannot be written."""


class RenderError(AuditbookError):
    """A site, PDF or workbook could not be rendered."""


def _located(path: Path | None, line: int | None, message: str) -> str:
    if path is None:
        return message
    if line is None:
        return f"{path}: {message}"
    return f"{path}:{line}: {message}"
