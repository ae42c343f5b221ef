import json

from auditbook.cli import main
from auditbook.evidence import EvidenceStore
from auditbook.models import Finding, Status


def write_runs(folder, count=2):
    store = EvidenceStore(folder)
    runs = []
    for n in range(count):
        finding = Finding(
            "aws.iam.password_policy",
            "123456789012",
            "global",
            f"r{n}",
            Status.FAIL,
            "Weak.",
        )
        with store.lock():
            runs.append(
                store.write_run(f"20261204T10000{n}.000Z-abcdef", [finding], {"n": n})
            )
    return runs


def test_verify_intact_run_exits_zero(tmp_path, capsys):
    write_runs(tmp_path)

    code = main(["verify", "--evidence", str(tmp_path)])

    assert code == 0
    assert "files match the manifest; not signed" in capsys.readouterr().out


def test_one_edited_byte_names_file(tmp_path, capsys):
    [_, run] = write_runs(tmp_path)
    path = run.path / "findings.jsonl"
    data = bytearray(path.read_bytes())
    data[data.index(b"Weak")] = ord("w")
    path.write_bytes(bytes(data))

    code = main(["verify", "--evidence", str(tmp_path)])

    out = capsys.readouterr().out
    assert code == 1
    assert f"{path}: altered" in out


def test_chain_reports_first_break(tmp_path, capsys):
    [first, second] = write_runs(tmp_path)
    manifest = json.loads((first.path / "manifest.json").read_text())
    manifest["note"] = "rewritten"
    (first.path / "manifest.json").write_text(json.dumps(manifest))

    code = main(["verify", "--chain", "--evidence", str(tmp_path)])

    out = capsys.readouterr().out
    assert code == 1
    assert f"{second.run_id}/manifest.json: chain broken" in out


def test_chain_intact_exits_zero(tmp_path, capsys):
    write_runs(tmp_path, count=3)

    code = main(["verify", "--chain", "--evidence", str(tmp_path)])

    assert code == 0
    assert "3 runs verified" in capsys.readouterr().out


def test_verify_unknown_run_is_usage_error(tmp_path, capsys):
    write_runs(tmp_path, count=1)

    code = main(["verify", "20990101T000000Z-ffffff", "--evidence", str(tmp_path)])

    assert code == 2
    assert "not found" in capsys.readouterr().err


def test_chain_names_missing_run(tmp_path, capsys):
    import shutil

    [_, middle, last] = write_runs(tmp_path, count=3)
    shutil.rmtree(middle.path)

    code = main(["verify", "--chain", "--evidence", str(tmp_path)])

    out = capsys.readouterr().out
    assert code == 1
    assert f"previous run {middle.run_id} is missing" in out
    assert last.run_id in out


def test_render_refuses_altered_run(tmp_path, capsys, monkeypatch):
    [run] = write_runs(tmp_path / "evidence", count=1)
    (run.path / "findings.jsonl").write_text("")
    (tmp_path / "controls").mkdir()
    (tmp_path / "mkdocs.yml").write_text("site_name: t\nplugins:\n  - auditbook\n")
    monkeypatch.chdir(tmp_path)

    code = main(["render", "--site-dir", str(tmp_path / "site")])

    assert code == 2
    assert "does not match its manifest" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


def test_expected_key_mismatch_fails(tmp_path, capsys):
    write_runs(tmp_path, count=1)

    code = main(
        ["verify", "--evidence", str(tmp_path), "--expect-key", "arn:aws:kms:x"]
    )

    assert code == 1
    assert "signed by no key" in capsys.readouterr().err
