import json
import os
import threading

import pytest

from auditbook.errors import EvidenceError
from auditbook.evidence import EvidenceStore, new_run_id
from auditbook.models import Finding, Status


def finding(resource: str = "arn:aws:iam::123456789012:user/alice", **changes):
    data = dict(
        check_id="aws.iam.user_console_mfa",
        account_id="123456789012",
        region="global",
        resource_id=resource,
        status=Status.FAIL,
        message="IAM user alice has a console password and no MFA.",
        evidence={"mfa_active": False},
        observed_at="2026-12-04T10:00:00+00:00",
    )
    data.update(changes)
    return Finding(**data)


def write(store: EvidenceStore, findings=None):
    with store.lock():
        return store.write_run(
            new_run_id(),
            findings or [finding()],
            {"started_at": "2026-12-04T10:00:00+00:00"},
        )


def test_run_is_written_and_latest(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")

    run = write(store)

    assert store.latest_id() == run.run_id
    assert run.findings() == [finding()]
    assert sorted(run.manifest["files"]) == ["findings.jsonl", "run.json"]
    assert run.metadata["previous_run_id"] is None


def test_second_run_chains_to_first(tmp_path):
    store = EvidenceStore(tmp_path)
    first = write(store)

    second = write(store)

    assert second.metadata["previous_run_id"] == first.run_id
    assert second.manifest["previous_manifest_sha256"] == first.manifest_sha256()
    assert store.verify_chain() == []


def test_verify_names_altered_file(tmp_path):
    run = write(EvidenceStore(tmp_path))
    path = run.path / "findings.jsonl"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"FAIL", b"PASS", 1))

    problems = run.verify()

    assert [(p.file, p.problem) for p in problems] == [("findings.jsonl", "altered")]


def test_verify_names_missing_and_extra(tmp_path):
    run = write(EvidenceStore(tmp_path))
    (run.path / "run.json").unlink()
    (run.path / "notes.txt").write_text("added later")

    problems = {(p.file, p.problem) for p in run.verify()}

    assert problems == {("run.json", "missing"), ("notes.txt", "extra")}


def test_chain_break_reported(tmp_path):
    store = EvidenceStore(tmp_path)
    first = write(store)
    second = write(store)
    manifest = json.loads((first.path / "manifest.json").read_text())
    manifest["note"] = "rewritten"
    (first.path / "manifest.json").write_text(json.dumps(manifest))

    [problem] = store.verify_chain()

    assert problem.file == f"{second.run_id}/manifest.json"
    assert "chain broken" in problem.problem


def test_failed_write_keeps_previous_latest(tmp_path, monkeypatch):
    store = EvidenceStore(tmp_path)
    first = write(store)

    def fail_rename(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", fail_rename)
    with pytest.raises(EvidenceError, match="No space left on device"):
        write(store)

    assert store.latest_id() == first.run_id
    assert store.run_ids() == [first.run_id]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [first.run_id]


def test_unwritable_folder_is_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = EvidenceStore(blocker / "evidence")

    with pytest.raises(EvidenceError, match="choose a writable folder"):
        write(store)


def test_concurrent_writer_rejected(tmp_path):
    store = EvidenceStore(tmp_path)
    holding = threading.Event()
    release = threading.Event()

    def hold_lock():
        with EvidenceStore(tmp_path).lock():
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold_lock)
    thread.start()
    holding.wait(5)
    try:
        with pytest.raises(EvidenceError, match="another auditbook run"):
            write(store)
    finally:
        release.set()
        thread.join()


def test_incomplete_folder_is_not_a_run(tmp_path):
    store = EvidenceStore(tmp_path)
    (tmp_path / "runs" / ".incomplete-20261204T100000Z-abcdef").mkdir(parents=True)

    assert store.run_ids() == []
    assert store.open_latest_or_none() is None


def test_latest_with_garbage_rejected(tmp_path):
    (tmp_path / "latest").write_text("../../etc\n")

    with pytest.raises(EvidenceError, match="not a run id"):
        EvidenceStore(tmp_path).latest_id()


def test_malformed_finding_line_named(tmp_path):
    run = write(EvidenceStore(tmp_path))
    with (run.path / "findings.jsonl").open("a") as handle:
        handle.write('{"check_id": "x"}\n')

    with pytest.raises(EvidenceError, match="findings.jsonl:2"):
        run.findings()
