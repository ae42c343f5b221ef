"""The evidence store: immutable evidence runs on disk.

A run is written into a hidden temporary folder, its files hashed into
``manifest.json``, and the folder renamed into ``runs/<run-id>`` only when
complete. ``latest`` is then replaced atomically with the new run id, so a
reader never sees a partial run, and a crash leaves the previous run in place.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditbook.errors import EvidenceError
from auditbook.models import Finding
from auditbook.signing import SIGNATURE_FILE, SIGNING_FILES, verify_signature

# Signs a run: takes the run id and the manifest's SHA-256, returns the
# signature files to store beside the manifest.
Signer = Callable[[str, str], dict[str, bytes]]

logger = logging.getLogger(__name__)

FINDINGS_FILE = "findings.jsonl"
RUN_FILE = "run.json"
MANIFEST_FILE = "manifest.json"
CLOUDTRAIL_FILE = "cloudtrail.jsonl"
EXCEPTIONS_FILE = "exceptions.yml"
LATEST_FILE = "latest"
LOCK_FILE = ".lock"
# Milliseconds keep runs written within one second in order; ids written
# without them are still read.
RUN_ID_PATTERN = re.compile(r"^\d{8}T\d{6}(\.\d{3})?Z-[0-9a-f]{6}$")
INCOMPLETE_PREFIX = ".incomplete-"


def new_run_id(now: datetime | None = None) -> str:
    """Return a sortable, unique run id such as ``20261204T153000.250Z-3fa2c1``."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_bytes(data: Any) -> bytes:
    return (
        json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode()


@dataclass(frozen=True)
class VerifyProblem:
    """One discrepancy between a run's files and its manifest."""

    file: str
    problem: str  # altered, missing, extra, chain

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}"


class EvidenceRun:
    """A complete evidence run on disk, read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run_id = path.name
        self.metadata: dict[str, Any] = self._read_json(RUN_FILE)
        self.manifest: dict[str, Any] = self._read_json(MANIFEST_FILE)

    def _read_json(self, name: str) -> dict[str, Any]:
        file = self.path / name
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise EvidenceError(f"{file} is missing; the run is incomplete") from exc
        except (OSError, ValueError) as exc:
            raise EvidenceError(f"cannot read {file}: {exc}") from exc

    def iter_findings(self) -> Iterator[Finding]:
        """Yield the run's findings in stored order, one line at a time."""
        file = self.path / FINDINGS_FILE
        try:
            with file.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        yield Finding.from_dict(json.loads(line))
                    except (ValueError, KeyError, TypeError) as exc:
                        raise EvidenceError(
                            f"{file}:{number}: not a valid finding ({exc})"
                        ) from exc
        except FileNotFoundError as exc:
            raise EvidenceError(f"{file} is missing; the run is incomplete") from exc

    def findings(self) -> list[Finding]:
        """Return every finding of the run."""
        return list(self.iter_findings())

    def cloudtrail_events(self) -> list[dict[str, Any]]:
        """Return the run's CloudTrail excerpt rows, or an empty list when none."""
        file = self.path / CLOUDTRAIL_FILE
        if not file.exists():
            return []
        with file.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def read_bytes(self, name: str) -> bytes | None:
        """Return the content of a file of the run, or None when absent."""
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None

    def files(self) -> list[Path]:
        """Return the run's evidence files, the manifest excluded, by name."""
        unhashed = {MANIFEST_FILE, *SIGNING_FILES}
        return sorted(
            p
            for p in self.path.rglob("*")
            if p.is_file() and p.relative_to(self.path).as_posix() not in unhashed
        )

    def manifest_sha256(self) -> str:
        """Return the SHA-256 of ``manifest.json``, which later runs chain to."""
        return sha256_file(self.path / MANIFEST_FILE)

    def verify(self) -> list[VerifyProblem]:
        """Recompute every hash in the manifest and list what does not match."""
        recorded: dict[str, str] = self.manifest.get("files", {})
        problems: list[VerifyProblem] = []

        present = {p.relative_to(self.path).as_posix(): p for p in self.files()}
        for name, expected in sorted(recorded.items()):
            file = present.get(name)
            if file is None:
                problems.append(VerifyProblem(name, "missing"))
            elif sha256_file(file) != expected:
                problems.append(VerifyProblem(name, "altered"))
        for name in sorted(set(present) - set(recorded)):
            problems.append(VerifyProblem(name, "extra"))

        try:
            verify_signature(self.path, self.run_id, self.manifest_sha256())
        except EvidenceError as exc:
            problems.append(VerifyProblem(SIGNATURE_FILE, f"signature invalid: {exc}"))
        return problems

    def signed_by(self) -> str | None:
        """Return the KMS key that signed the run, or None when unsigned.

        Raises:
            EvidenceError: the signature does not verify.
        """
        return verify_signature(self.path, self.run_id, self.manifest_sha256())


class EvidenceStore:
    """The evidence folder: ``runs/<run-id>/`` and the ``latest`` pointer."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"

    def latest_id(self) -> str | None:
        """Return the id of the newest complete run, or None when there is none."""
        try:
            run_id = (self.root / LATEST_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise EvidenceError(
                f"cannot read {self.root / LATEST_FILE}: {exc}"
            ) from exc
        if not RUN_ID_PATTERN.match(run_id):
            raise EvidenceError(
                f"{self.root / LATEST_FILE} names {run_id!r}, which is not a run id; "
                "delete the file and collect again"
            )
        return run_id

    def run_ids(self) -> list[str]:
        """Return the ids of every complete run, oldest first."""
        if not self.runs_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.runs_dir.iterdir()
            if p.is_dir() and RUN_ID_PATTERN.match(p.name)
        )

    def open(self, run_id: str | None = None) -> EvidenceRun:
        """Open a run by id, or the latest run.

        Raises:
            EvidenceError: no such run, or no run at all.
        """
        run_id = run_id or self.latest_id()
        if run_id is None:
            raise EvidenceError(
                f"no evidence run in {self.root}; run 'auditbook collect' first"
            )
        if not RUN_ID_PATTERN.match(run_id):
            raise EvidenceError(
                f"{run_id!r} is not a run id such as 20261204T153000.250Z-3fa2c1"
            )
        path = self.runs_dir / run_id
        if not path.is_dir():
            raise EvidenceError(f"run {run_id} not found in {self.runs_dir}")
        return EvidenceRun(path)

    def verify_chain(self) -> list[VerifyProblem]:
        """Walk every run oldest first and report the first broken link.

        Each run must match its own manifest, and its manifest must record the
        SHA-256 of the previous run's manifest.
        """
        previous: EvidenceRun | None = None
        run_ids = self.run_ids()
        for run_id in run_ids:
            run = self.open(run_id)
            recorded_id = run.manifest.get("previous_run_id")
            if recorded_id and recorded_id not in run_ids:
                return [
                    VerifyProblem(
                        f"{run_id}/{MANIFEST_FILE}",
                        f"chain broken: previous run {recorded_id} is missing",
                    )
                ]
            problems = [
                VerifyProblem(f"{run_id}/{p.file}", p.problem) for p in run.verify()
            ]
            if problems:
                return problems

            recorded = run.manifest.get("previous_manifest_sha256")
            if previous is not None and recorded != previous.manifest_sha256():
                return [
                    VerifyProblem(
                        f"{run_id}/{MANIFEST_FILE}",
                        f"chain broken: previous manifest of {previous.run_id} "
                        "does not match the hash recorded here",
                    )
                ]
            previous = run
        return []

    def open_latest_or_none(self) -> EvidenceRun | None:
        """Open the latest run, or return None when nothing was collected yet."""
        if self.latest_id() is None:
            return None
        return self.open()

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's write lock, or fail at once if another run holds it.

        Raises:
            EvidenceError: another process is writing to this store.
        """
        self._make_dirs()
        handle = (self.root / LOCK_FILE).open("a")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise EvidenceError(
                    f"another auditbook run is writing to {self.root}; wait for it "
                    "to finish"
                ) from exc
            yield
        finally:
            handle.close()

    def write_run(
        self,
        run_id: str,
        findings: list[Finding],
        metadata: dict[str, Any],
        extra_files: dict[str, bytes] | None = None,
        signer: Signer | None = None,
    ) -> EvidenceRun:
        """Write a complete run atomically and point ``latest`` at it.

        The caller must hold :meth:`lock`. ``metadata`` becomes ``run.json``, with
        the previous run's id added. With ``signer``, the manifest's hash is
        signed and the signature files are stored beside it, outside the
        manifest.

        Raises:
            EvidenceError: the folder is not writable or the disk is full; the
                previous run stays the latest.
        """
        previous = self._previous_run()
        metadata = {**metadata, "run_id": run_id}
        metadata["previous_run_id"] = previous.run_id if previous else None
        staging = self.runs_dir / f"{INCOMPLETE_PREFIX}{run_id}"

        try:
            self._make_dirs()
            staging.mkdir()
            files = {
                FINDINGS_FILE: b"".join(
                    (
                        json.dumps(f.to_dict(), sort_keys=True, ensure_ascii=False)
                        + "\n"
                    ).encode()
                    for f in findings
                ),
                RUN_FILE: _json_bytes(metadata),
                **(extra_files or {}),
            }
            for name, content in files.items():
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_synced(target, content)

            manifest = {
                "run_id": run_id,
                "algorithm": "sha256",
                "files": {name: sha256_file(staging / name) for name in sorted(files)},
                "previous_run_id": previous.run_id if previous else None,
                "previous_manifest_sha256": previous.manifest_sha256()
                if previous
                else None,
            }
            _write_synced(staging / MANIFEST_FILE, _json_bytes(manifest))
            if signer is not None:
                digest = sha256_file(staging / MANIFEST_FILE)
                for name, content in signer(run_id, digest).items():
                    _write_synced(staging / name, content)
            _fsync_dir(staging)

            final = self.runs_dir / run_id
            os.rename(staging, final)
            _fsync_dir(self.runs_dir)
            self._point_latest(run_id)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise EvidenceError(
                f"cannot write evidence run {run_id} to {self.runs_dir}: "
                f"{exc.strerror or exc}; the previous run stays the latest"
            ) from exc

        logger.info("wrote evidence run %s with %d findings", run_id, len(findings))
        return EvidenceRun(final)

    def _previous_run(self) -> EvidenceRun | None:
        try:
            return self.open_latest_or_none()
        except EvidenceError as exc:
            logger.warning("ignoring the latest run when chaining: %s", exc)
            return None

    def _point_latest(self, run_id: str) -> None:
        pointer = self.root / LATEST_FILE
        temporary = self.root / f".{LATEST_FILE}.{run_id}"
        _write_synced(temporary, f"{run_id}\n".encode())
        os.replace(temporary, pointer)
        _fsync_dir(self.root)

    def _make_dirs(self) -> None:
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvidenceError(
                f"cannot create {self.runs_dir}: {exc.strerror or exc}; choose a "
                "writable folder with --out"
            ) from exc


def _write_synced(path: Path, content: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
