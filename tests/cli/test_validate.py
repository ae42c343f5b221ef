import shutil
from pathlib import Path

import pytest

from auditbook.cli import main

REPO = Path(__file__).parents[2]
CONFIG = """site_name: test
plugins:
  - auditbook:
      organisation: Test Ltd
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(REPO / "controls", tmp_path / "controls")
    (tmp_path / "mkdocs.yml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def misspell(project: Path) -> Path:
    path = project / "controls" / "identity" / "IAM-05-password-policy.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("aws.iam.password_policy", "aws.iam.pasword_policy"))
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_valid_project_exits_zero(project, capsys):
    code = main(["validate"])

    assert code == 0
    assert "are valid" in capsys.readouterr().out


def test_misspelt_check_names_file_line_and_fix(project, capsys):
    path = misspell(project)
    line = line_of(path, "aws.iam.pasword_policy")

    code = main(["validate"])

    out = capsys.readouterr().out
    assert code == 1
    assert f"\ncontrols/identity/IAM-05-password-policy.md:{line}: " in "\n" + out
    assert "did you mean 'aws.iam.password_policy'?" in out


def test_github_format_emits_annotation(project, capsys):
    path = misspell(project)
    line = line_of(path, "aws.iam.pasword_policy")
    relative = "controls/identity/IAM-05-password-policy.md"

    code = main(["validate", "--format", "github"])

    out = capsys.readouterr().out
    assert code == 1
    assert f"::error file={relative},line={line}::unknown check ID" in out


def test_broken_config_reported_with_line(project, capsys):
    (project / "mkdocs.yml").write_text(CONFIG + "      fail_on: sometimes\n")

    code = main(["validate"])

    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("mkdocs.yml:5: option 'fail_on' is invalid")


def test_missing_config_is_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    code = main(["collect"])

    assert code == 2
    assert "mkdocs.yml not found" in capsys.readouterr().err


def test_checks_lists_registry(capsys):
    code = main(["checks"])

    out = capsys.readouterr().out
    assert code == 0
    assert "aws.guardduty.enabled" in out


def test_bad_region_option_rejected(project, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["collect", "--regions", "euwest2"])

    assert raised.value.code == 2
    assert "'euwest2' is not a region name" in capsys.readouterr().err


def test_missing_controls_folder_named(project, capsys):
    shutil.rmtree(project / "controls")

    code = main(["validate"])

    assert code == 1
    assert "controls folder" in capsys.readouterr().out


def test_broken_pipe_is_quiet(monkeypatch):
    class ClosedStdout:
        def write(self, _text):
            raise BrokenPipeError

        def flush(self):
            pass

    monkeypatch.setattr("sys.stdout", ClosedStdout())

    assert main(["checks"]) == 0
