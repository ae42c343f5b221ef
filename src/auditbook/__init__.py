"""Documentation-driven compliance evidence for AWS."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("auditbook")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
