"""Page layout: block replacement, headings, slugs and the nav."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditbook.controls import Control
from auditbook.errors import RenderError
from auditbook.models import Severity
from auditbook.report import ControlResult
from auditbook.site.pages import (
    GeneratedPage,
    PageKind,
    build_nav,
    control_source,
    control_uri,
    findings_path,
    insert_after_heading,
    replace_check_blocks,
)


def control(
    control_id: str = "NET-01", layer: str = "network", body: str = ""
) -> Control:
    """Return a control with the given id, layer and body."""
    return Control(
        id=control_id,
        title="A control",
        layer=layer,
        severity=Severity.HIGH,
        owner="Team",
        path=Path(f"{control_id}.md"),
        body=body,
        body_line=1,
    )


def replace(markdown: str) -> tuple[str, list[list[str]]]:
    """Replace check blocks with TOKEN<n> and return the IDs each token stands for."""
    blocks: list[list[str]] = []

    def issue(check_ids: list[str]) -> str:
        blocks.append(check_ids)
        return f"TOKEN{len(blocks) - 1}"

    return replace_check_blocks(markdown, issue), blocks


def test_each_block_becomes_token():
    markdown = (
        "Intro\n\n```auditbook\na.b.c\na.b.d  # note\n```\n\n"
        "Middle\n\n```auditbook\na.b.e\n```\n"
    )

    output, blocks = replace(markdown)

    assert blocks == [["a.b.c", "a.b.d"], ["a.b.e"]]
    assert "```" not in output
    assert "\nTOKEN0\n" in output
    assert "\nTOKEN1\n" in output
    assert "Middle" in output


def test_other_fences_are_kept():
    markdown = "```python\nprint(1)\n```\n\n```auditbook\na.b.c\n```\n"

    output, blocks = replace(markdown)

    assert "```python\nprint(1)\n```" in output
    assert blocks == [["a.b.c"]]


def test_block_inside_longer_fence_is_kept():
    markdown = "````markdown\n```auditbook\na.b.c\n```\n````\n"

    output, blocks = replace(markdown)

    assert output == markdown
    assert blocks == []


def test_tilde_fence_is_replaced():
    output, blocks = replace("~~~auditbook\na.b.c\n~~~\nAfter\n")

    assert blocks == [["a.b.c"]]
    assert output.strip().splitlines() == ["TOKEN0", "", "After"]


def test_unclosed_block_runs_to_end():
    output, blocks = replace("Text\n\n```auditbook\na.b.c\nStill inside\n")

    assert blocks == [["a.b.c", "Still inside"]]
    assert output.rstrip().endswith("TOKEN0")


def test_indented_block_keeps_indent():
    output, _ = replace("- item\n\n   ```auditbook\n   a.b.c\n   ```\n")

    assert "\n   TOKEN0\n" in output


def test_repeated_id_in_block_listed_once():
    _, blocks = replace("```auditbook\na.b.c\na.b.c\n```\n")

    assert blocks == [["a.b.c"]]


def test_insert_after_heading():
    markdown = "# Title\n\nBody\n"

    assert insert_after_heading(markdown, "TOKEN") == "# Title\n\nTOKEN\n\n\nBody\n"


def test_insert_without_heading_goes_first():
    assert insert_after_heading("## Section\n", "TOKEN") == "TOKEN\n\n## Section\n"


def test_control_source_adds_heading():
    source = control_source(control(body="\n## Requirement\n"))

    assert "# NET-01 A control\n\n## Requirement" in source
    assert source.startswith("---\nhide:\n  - toc\n---\n")


def test_control_source_keeps_own_heading():
    source = control_source(control(body="\n# Own title\n\nText\n"))

    assert "# Own title\n\nText" in source
    assert "NET-01" not in source


def test_control_paths_use_slug():
    net = control()

    assert control_uri(net) == "controls/network/net-01.md"
    assert findings_path(net) == "findings/net-01.json"


@pytest.mark.parametrize("control_id", ["../ETC", "NET/01", "NET-01.", "NÉT-01"])
def test_unsafe_control_id_is_rejected(control_id):
    with pytest.raises(RenderError, match="cannot name a page"):
        control_uri(control(control_id))


def test_nav_groups_controls_by_layer():
    controls = [
        control("IAM-01", "identity"),
        control("NET-01", "network"),
        control("IAM-02", "identity"),
    ]
    pages = [
        GeneratedPage("index.md", "Home", PageKind.HOME),
        *(
            GeneratedPage(
                control_uri(c),
                c.id,
                PageKind.CONTROL,
                control=ControlResult(c, [], "PASS", {}),
            )
            for c in controls
        ),
        GeneratedPage("frameworks/uk-gdpr.md", "UK GDPR", PageKind.FRAMEWORK),
        GeneratedPage("run.md", "Evidence run", PageKind.RUN),
    ]

    nav = build_nav(pages, ["scope.md"])

    assert nav == [
        {"Home": "index.md"},
        "scope.md",
        {
            "Controls": [
                "controls/index.md",
                {
                    "Identity": [
                        {"IAM-01": "controls/identity/iam-01.md"},
                        {"IAM-02": "controls/identity/iam-02.md"},
                    ]
                },
                {"Network": [{"NET-01": "controls/network/net-01.md"}]},
            ]
        },
        {"Frameworks": [{"UK GDPR": "frameworks/uk-gdpr.md"}]},
        {"Evidence run": "run.md"},
    ]
