from pathlib import Path

import pytest

from auditbook.controls import find_check_refs, load_library, parse_control
from auditbook.errors import ControlError

VALID = """---
id: IAM-99
title: Example control
layer: identity
severity: high
owner: Platform Security
frameworks:
  cis-aws-3.0.0: ["1.10"]
---

# Example

```auditbook
aws.iam.root_mfa_enabled
# a comment line is ignored
aws.iam.password_policy  # trailing comment
```
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_control_parses(tmp_path):
    control = parse_control(write(tmp_path, "c.md", VALID))

    assert control.id == "IAM-99"
    assert control.frameworks == {"cis-aws-3.0.0": ("1.10",)}
    assert control.check_ids == ["aws.iam.root_mfa_enabled", "aws.iam.password_policy"]
    assert [ref.line for ref in control.check_refs] == [14, 16]


def test_missing_front_matter_names_line_one(tmp_path):
    path = write(tmp_path, "c.md", "# no front matter\n")

    with pytest.raises(ControlError) as raised:
        parse_control(path)

    assert raised.value.line == 1
    assert str(raised.value).startswith(f"{path}:1: missing front matter")


def test_unclosed_front_matter_rejected(tmp_path):
    path = write(tmp_path, "c.md", "---\nid: IAM-1\n")

    with pytest.raises(ControlError, match="not closed"):
        parse_control(path)


def test_bad_yaml_points_at_line(tmp_path):
    text = VALID.replace("owner: Platform Security", "owner: [unclosed")
    path = write(tmp_path, "c.md", text)

    with pytest.raises(ControlError) as raised:
        parse_control(path)

    assert raised.value.line == 7
    assert "invalid YAML" in str(raised.value)


def test_missing_key_is_named(tmp_path):
    path = write(tmp_path, "c.md", VALID.replace("owner: Platform Security\n", ""))

    with pytest.raises(ControlError, match="'owner' is a required property"):
        parse_control(path)


def test_wrong_layer_lists_allowed_values(tmp_path):
    path = write(tmp_path, "c.md", VALID.replace("layer: identity", "layer: idnetity"))

    with pytest.raises(ControlError) as raised:
        parse_control(path)

    assert raised.value.line == 4
    assert "use one of identity, network" in str(raised.value)


def test_unquoted_clause_number_explains_quoting(tmp_path):
    path = write(tmp_path, "c.md", VALID.replace('["1.10"]', "[1.10]"))

    with pytest.raises(ControlError) as raised:
        parse_control(path)

    assert raised.value.line == 8
    assert "quote it" in str(raised.value)


def test_unknown_clause_suggests_closest(tmp_path):
    path = write(tmp_path, "c.md", VALID.replace('["1.10"]', '["1.100"]'))

    with pytest.raises(ControlError) as raised:
        parse_control(path)

    assert raised.value.line == 8
    assert "is not a clause of CIS AWS Foundations Benchmark v3.0.0" in str(
        raised.value
    )


def test_unknown_key_rejected(tmp_path):
    path = write(tmp_path, "c.md", VALID.replace("owner:", "ownr: x\nowner:"))

    with pytest.raises(ControlError, match="'ownr' was unexpected"):
        parse_control(path)


def test_python_tag_never_constructs_object(tmp_path):
    text = VALID.replace(
        "owner: Platform Security", "owner: !!python/object/apply:os.system ['true']"
    )
    path = write(tmp_path, "c.md", text)

    with pytest.raises(ControlError) as raised:
        parse_control(path)

    assert raised.value.line == 6
    assert "could not determine a constructor" in str(raised.value)


def test_alias_bomb_rejected(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, "
        bomb += f"*{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    path = write(tmp_path, "c.md", f"---\n{bomb}---\n")

    with pytest.raises(ControlError, match="aliases"):
        parse_control(path)


def test_fence_other_language_ignored():
    body = "```python\naws.iam.root_mfa_enabled\n```\n\n````auditbook\naws.x.y\n````\n"

    refs = find_check_refs(body, first_line=10)

    assert [(r.check_id, r.line) for r in refs] == [("aws.x.y", 15)]


def test_library_reports_unknown_check_with_suggestion(tmp_path):
    write(
        tmp_path,
        "a.md",
        VALID.replace("aws.iam.password_policy", "aws.iam.pasword_policy"),
    )

    library = load_library(
        tmp_path, {"aws.iam.root_mfa_enabled", "aws.iam.password_policy"}
    )

    [error] = library.errors
    assert error.line == 16
    assert "did you mean 'aws.iam.password_policy'" in str(error)


def test_library_reports_duplicate_ids(tmp_path):
    write(tmp_path, "a.md", VALID)
    write(tmp_path, "b.md", VALID)

    library = load_library(tmp_path)

    [error] = library.errors
    assert error.path == tmp_path / "b.md"
    assert error.line == 2
    assert "duplicate control id 'IAM-99'" in str(error)


def test_library_keeps_good_files_beside_broken(tmp_path):
    write(tmp_path, "a.md", VALID)
    write(tmp_path, "b.md", "not a control\n")

    library = load_library(tmp_path)

    assert [c.id for c in library.controls] == ["IAM-99"]
    assert len(library.errors) == 1


def test_repository_controls_are_valid():
    from auditbook.checks.registry import load_checks

    registry = load_checks()
    library = load_library(Path(__file__).parents[1] / "controls", set(registry))

    assert [str(e) for e in library.errors] == []
    assert len(library.controls) >= 14
