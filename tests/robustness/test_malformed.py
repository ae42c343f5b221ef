"""Malformed control documents and configuration get a located message, not a crash.

Each case writes one bad file into a copy of the repository's controls and
runs ``auditbook validate`` and ``auditbook collect``. Validate exits with 1
and collect with 2, both name the file and line, and neither prints a
traceback. Collection never starts, and AWS_ENDPOINT_URL points at a closed
port on 127.0.0.1 in case it did.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys

import pytest

from tests.robustness.conftest import REPO, run_cli

CONFIG = """\
site_name: malformed
plugins:
  - search
  - auditbook:
      organisation: Malformed Input Ltd
      regions: [eu-west-2]
"""

FRONT_MATTER = """\
---
id: BAD-01
title: A control whose file is malformed
layer: identity
severity: high
owner: Platform Security
"""
BODY = """\
---

# A control whose file is malformed

```auditbook
aws.iam.root_mfa_enabled
```
"""

# Nine aliases, each repeating the one before nine times: 9**9 strings.
ALIAS_BOMB = "\n".join(
    [f"a0: &a0 [{', '.join(['lol'] * 9)}]"]
    + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
)
DEEP = "[" * 5000 + "]" * 5000


def control_case(front: str, expected: str, line: int | None) -> tuple:
    return (FRONT_MATTER + front + BODY).encode(), expected, line


# File content, the message expected and the line it names.
CONTROL_CASES = {
    "bad_yaml": control_case("related: [NET-01\n", "invalid YAML in front matter", 7),
    "wrong_type": control_case(
        "frameworks: {cis-aws-3.0.0: 1.4}\n", "frameworks.cis-aws-3.0.0:", 7
    ),
    "number_id": (
        FRONT_MATTER.replace("id: BAD-01", "id: 12").encode() + BODY.encode(),
        "id: 12 is a number; quote it",
        2,
    ),
    "boolean_title": (
        FRONT_MATTER.replace(
            "title: A control whose file is malformed", "title: yes"
        ).encode()
        + BODY.encode(),
        "title: YAML reads the value as the boolean True",
        3,
    ),
    "date_title": (
        FRONT_MATTER.replace(
            "title: A control whose file is malformed", "title: 2026-12-04"
        ).encode()
        + BODY.encode(),
        "title: YAML reads 2026-12-04 as a date",
        3,
    ),
    "python_tag": control_case(
        "owner: !!python/object/apply:os.system ['touch pwned']\n",
        "could not determine a constructor for the tag",
        7,
    ),
    "duplicate_key": control_case(
        "severity: low\n",
        "key 'severity' appears twice, first at line 5",
        7,
    ),
    "alias_bomb": control_case(
        ALIAS_BOMB + "\n", "YAML expands to more than 200000 nodes", 7
    ),
    "deep_nesting": control_case(
        f"related: {DEEP}\n", "nests collections deeper than the parser", 7
    ),
    "huge_file": (
        FRONT_MATTER.encode() + BODY.encode() + b"x" * (5 * 1024 * 1024),
        "over the 524288-byte limit",
        None,
    ),
    "not_utf8": (
        FRONT_MATTER.encode() + "owner: Caf\xe9\n".encode("latin-1") + BODY.encode(),
        "not UTF-8 text",
        7,
    ),
    "empty": (b"", "missing front matter", 1),
    "nul_byte": control_case(
        "owner: a\x00b\n", "the character U+0000 is not allowed in YAML", 7
    ),
}

CONFIG_CASES = {
    "bad_yaml": (
        CONFIG.replace("[eu-west-2]", "[eu-west-2"),
        "invalid YAML",
        7,
    ),
    "wrong_type": (
        CONFIG + "      max_workers: many\n",
        "option 'max_workers' is invalid: 'many' is not of type 'integer'",
        7,
    ),
    "python_tag": (
        CONFIG + "      prepared_by: !!python/object/apply:os.system ['touch pwned']\n",
        "option 'prepared_by' is the YAML tag !!python/object/apply:os.system",
        7,
    ),
    "duplicate_option": (
        CONFIG + "      fail_on: critical\n      organisation: Other Ltd\n",
        "option 'organisation' appears twice, first at line 5",
        8,
    ),
    "alias_bomb": (
        ALIAS_BOMB + "\n" + CONFIG,
        "YAML expands to more than 200000 nodes",
        1,
    ),
    "deep_nesting": (
        CONFIG + f"extra: {DEEP}\n",
        "nests collections deeper than the parser",
        7,
    ),
    "huge_file": (
        CONFIG + "# " + "x" * (5 * 1024 * 1024) + "\n",
        "characters, over the limit of 1,000,000",
        None,
    ),
    "empty": ("", "expected a YAML mapping at the top level", 1),
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(REPO / "controls", tmp_path / "controls")
    (tmp_path / "mkdocs.yml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    # Port 9 (discard) is closed on 127.0.0.1, so a collection that started
    # by mistake fails at once without leaving the machine.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    return tmp_path


def assert_no_traceback(result, caplog) -> None:
    assert "Traceback" not in result.err
    assert "Traceback" not in result.out
    crashes = [r for r in caplog.records if r.exc_info]
    assert crashes == [], [r.getMessage() for r in crashes]


def location(path: str, line: int | None) -> str:
    return f"{path}:{line}: " if line else f"{path}: "


@pytest.mark.parametrize("case", sorted(CONTROL_CASES))
def test_malformed_control_validate(project, caplog, case):
    content, expected, line = CONTROL_CASES[case]
    (project / "controls" / "identity" / "BAD-01.md").write_bytes(content)

    with caplog.at_level(logging.DEBUG):
        result = run_cli("validate")

    assert_no_traceback(result, caplog)
    assert result.code == 1
    [message] = [m for m in result.out.splitlines() if "BAD-01.md" in m]
    assert message.startswith(location("controls/identity/BAD-01.md", line)), message
    assert expected in message
    assert not (project / "pwned").exists()


@pytest.mark.parametrize("case", sorted(CONTROL_CASES))
def test_malformed_control_collect(project, caplog, case):
    content, expected, line = CONTROL_CASES[case]
    path = project / "controls" / "identity" / "BAD-01.md"
    path.write_bytes(content)

    with caplog.at_level(logging.DEBUG):
        result = run_cli("collect")

    assert_no_traceback(result, caplog)
    assert result.code == 2
    [message] = [m for m in result.err.splitlines() if "BAD-01.md" in m]
    assert message.startswith(location(str(path), line)), message
    assert expected in message
    assert "run 'auditbook validate' and fix them" in result.err
    assert not (project / "evidence").exists()


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_malformed_config_validate(project, caplog, case):
    content, expected, line = CONFIG_CASES[case]
    (project / "mkdocs.yml").write_text(content, encoding="utf-8")

    with caplog.at_level(logging.DEBUG):
        result = run_cli("validate")

    assert_no_traceback(result, caplog)
    assert result.code == 1
    assert result.out.startswith(location("mkdocs.yml", line)), result.out
    assert expected in result.out
    assert not (project / "pwned").exists()


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_malformed_config_collect(project, caplog, case):
    content, expected, line = CONFIG_CASES[case]
    (project / "mkdocs.yml").write_text(content, encoding="utf-8")

    with caplog.at_level(logging.DEBUG):
        result = run_cli("collect")

    assert_no_traceback(result, caplog)
    assert result.code == 2
    assert result.err.startswith(f"auditbook: error: {location('mkdocs.yml', line)}")
    assert expected in result.err
    assert not (project / "evidence").exists()


def test_config_not_utf8(project, caplog):
    (project / "mkdocs.yml").write_bytes(CONFIG.encode() + b"# caf\xe9\n")

    with caplog.at_level(logging.DEBUG):
        validated = run_cli("validate")
        collected = run_cli("collect")

    assert_no_traceback(validated, caplog)
    assert validated.code == 1
    assert validated.out.startswith("mkdocs.yml:7: not UTF-8 text (byte ")
    assert collected.code == 2
    assert "mkdocs.yml:7: not UTF-8 text" in collected.err


def test_config_is_a_folder(tmp_path, monkeypatch, caplog):
    (tmp_path / "mkdocs.yml").mkdir()
    monkeypatch.chdir(tmp_path)

    with caplog.at_level(logging.DEBUG):
        validated = run_cli("validate")
        collected = run_cli("collect")

    assert_no_traceback(validated, caplog)
    assert validated.code == 1
    assert validated.out.startswith("mkdocs.yml: is a folder, not a configuration")
    assert collected.code == 2
    assert "mkdocs.yml: is a folder, not a configuration file" in collected.err


def test_control_folder_named_md(project, caplog):
    (project / "controls" / "identity" / "x.md").mkdir()

    with caplog.at_level(logging.DEBUG):
        validated = run_cli("validate")
        collected = run_cli("collect")

    assert_no_traceback(validated, caplog)
    assert validated.code == 1
    assert "controls/identity/x.md: cannot read the file: Is a directory" in (
        validated.out
    )
    assert collected.code == 2


def test_byte_order_mark_accepted(project, caplog):
    path = project / "controls" / "identity" / "IAM-05-password-policy.md"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    result = run_cli("validate")

    assert result.code == 0, result.out
    assert "are valid" in result.out


def test_python_tag_elsewhere_in_config_allowed(project):
    # MkDocs configurations use such tags for Markdown extensions; auditbook
    # leaves them to MkDocs.
    (project / "mkdocs.yml").write_text(
        CONFIG + "markdown_extensions:\n  - toc:\n      slugify: "
        "!!python/object/apply:pymdownx.slugs.slugify {kwds: {case: lower}}\n",
        encoding="utf-8",
    )

    result = run_cli("validate")

    assert result.code == 0, result.out


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("AWS_MAX_ATTEMPTS", "many", "AWS_MAX_ATTEMPTS is 'many'"),
        ("AWS_MAX_ATTEMPTS", "0", "AWS_MAX_ATTEMPTS is '0'"),
        ("AWS_RETRY_MODE", "eager", "AWS_RETRY_MODE is 'eager'"),
    ],
)
def test_invalid_retry_setting(project, monkeypatch, caplog, name, value, expected):
    monkeypatch.setenv(name, value)

    with caplog.at_level(logging.DEBUG):
        result = run_cli("collect")

    assert_no_traceback(result, caplog)
    assert result.code == 2
    assert f"auditbook: error: {expected}" in result.err


def test_real_stderr_has_no_traceback(project):
    (project / "controls" / "identity" / "BAD-01.md").write_bytes(
        CONTROL_CASES["deep_nesting"][0]
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src")}

    completed = subprocess.run(
        [sys.executable, "-m", "auditbook.cli", "collect"],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )

    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "controls/identity/BAD-01.md:7: YAML nests collections" in completed.stderr
