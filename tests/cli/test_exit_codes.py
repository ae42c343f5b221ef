import logging

from auditbook import cli
from auditbook.errors import EvidenceError


def test_crash_exits_two_not_one(monkeypatch, caplog):
    def crash(args):
        raise ValueError("tuple.index(x): x not in tuple")

    monkeypatch.setattr(cli, "cmd_checks", crash)

    with caplog.at_level(logging.ERROR, logger="auditbook"):
        code = cli.main(["checks"])

    assert code == 2
    assert "auditbook stopped on an unexpected error" in caplog.text
    assert "ValueError: tuple.index(x)" in caplog.text


def test_auditbook_error_keeps_its_message(monkeypatch, capsys):
    def locked(args):
        raise EvidenceError("another auditbook run is writing to evidence")

    monkeypatch.setattr(cli, "cmd_checks", locked)

    code = cli.main(["checks"])

    assert code == 2
    assert "auditbook: error: another auditbook run" in capsys.readouterr().err
