"""The site's layout: the pages the plugin generates, their Markdown and the nav.

Page Markdown holds only text written in this repository (control documents,
framework titles) and placeholder tokens. Everything read from the evidence
run is inserted as HTML after Markdown has run.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from auditbook.controls import LAYERS, Control, find_check_blocks, find_check_refs
from auditbook.errors import RenderError
from auditbook.frameworks import FRAMEWORKS
from auditbook.report import ControlResult, Report

HOME_URI = "index.md"
RUN_URI = "run.md"
CHANGES_URI = "changes.md"
CONTROLS_URI = "controls/index.md"
FINDINGS_DIR = "findings"

# The control schema already restricts ids. This second check guarantees that a
# file name built from an id has only lower-case letters, digits and hyphens.
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

_ATX_H1 = re.compile(r"^ {0,3}#(?!#)\s")

# Material's "hide" page option. Generated pages drop the table of contents,
# which would list only a few headings, so that findings tables get the width.
# The dashboard also drops the nav sidebar.
_HIDE_TOC = "---\nhide:\n  - toc\n---\n\n"
_HIDE_TOC_AND_NAV = "---\nhide:\n  - navigation\n  - toc\n---\n\n"


class PageKind(enum.StrEnum):
    """Kind of content on a generated page."""

    HOME = "home"
    RUN = "run"
    CONTROLS = "controls"
    CONTROL = "control"
    FRAMEWORK = "framework"
    CHANGES = "changes"


@dataclass(frozen=True)
class GeneratedPage:
    """A page the plugin adds to the site.

    Attributes:
        uri: the source path, as if in ``docs_dir``.
        title: the page and nav title.
        kind: what the page shows.
        control: the control of a control page.
        framework_key: the framework of a framework page.
    """

    uri: str
    title: str
    kind: PageKind
    control: ControlResult | None = None
    framework_key: str | None = None


def control_slug(control: Control) -> str:
    """Return the control's slug for file names and URLs.

    Raises:
        RenderError: the slug has a character other than a-z, 0-9 or '-'.
    """
    slug = control.slug
    if not SLUG_PATTERN.match(slug):
        raise RenderError(
            f"control id {control.id!r} in {control.path} cannot name a page; "
            "use capital letters, digits and hyphens, such as IAM-01"
        )
    return slug


def control_uri(control: Control) -> str:
    """Return the source path of a control's page: ``controls/<layer>/<id>.md``."""
    return f"controls/{control.layer}/{control_slug(control)}.md"


def framework_uri(key: str) -> str:
    """Return the source path of a framework's coverage page."""
    return f"frameworks/{key}.md"


def findings_path(control: Control, extension: str = "json") -> str:
    """Return the site path of the file with every finding of a control.

    Args:
        extension: ``json`` or ``csv``.
    """
    return f"{FINDINGS_DIR}/{control_slug(control)}.{extension}"


def control_title(control: Control) -> str:
    """Return the title shown in the nav and as the heading of a control page."""
    return f"{control.id} {control.title}"


def generated_pages(report: Report) -> list[GeneratedPage]:
    """List every page the plugin adds, in nav order."""
    pages = [
        GeneratedPage(HOME_URI, "Evidence dashboard", PageKind.HOME),
        GeneratedPage(CONTROLS_URI, "All controls", PageKind.CONTROLS),
    ]
    for result in report.controls:
        control = result.control
        pages.append(
            GeneratedPage(
                control_uri(control),
                control_title(control),
                PageKind.CONTROL,
                control=result,
            )
        )
    for key in report.frameworks_used():
        pages.append(
            GeneratedPage(
                framework_uri(key),
                FRAMEWORKS[key].title,
                PageKind.FRAMEWORK,
                framework_key=key,
            )
        )
    pages.append(GeneratedPage(CHANGES_URI, "Since last run", PageKind.CHANGES))
    pages.append(GeneratedPage(RUN_URI, "Evidence run", PageKind.RUN))
    return pages


def control_source(control: Control) -> str:
    """Return the Markdown source of a control page: a heading and the body.

    A body that starts with its own level-1 heading keeps it; any other body
    gets the control id and title as its heading.
    """
    body = control.body.lstrip("\n")
    first_line = body.split("\n", 1)[0]
    if _ATX_H1.match(first_line):
        return f"{_HIDE_TOC}{body}"
    return f"{_HIDE_TOC}# {control_title(control)}\n\n{body}"


def generated_source(page: GeneratedPage, token: str) -> str:
    """Return the Markdown source of a generated page: its title and one token."""
    front_matter = _HIDE_TOC_AND_NAV if page.kind is PageKind.HOME else _HIDE_TOC
    return f"{front_matter}# {page.title}\n\n{token}\n"


def insert_after_heading(markdown: str, token: str) -> str:
    """Insert a token paragraph after the page's first level-1 heading.

    Without such a heading the token goes first.
    """
    lines = markdown.split("\n")
    for index, line in enumerate(lines):
        if _ATX_H1.match(line):
            return "\n".join([*lines[: index + 1], "", token, "", *lines[index + 1 :]])
    return f"{token}\n\n{markdown}"


def replace_check_blocks(markdown: str, issue_token: Callable[[list[str]], str]) -> str:
    """Replace each ``auditbook`` fenced block with a token paragraph.

    Args:
        markdown: the page's Markdown.
        issue_token: called with the check IDs of one block, in the order the
            block lists them, and returns the token that stands for it.
    """
    ids_by_block: dict[int, list[str]] = {}
    for ref in find_check_refs(markdown, first_line=1):
        ids = ids_by_block.setdefault(ref.block, [])
        if ref.check_id not in ids:
            ids.append(ref.check_id)

    lines = markdown.split("\n")
    output: list[str] = []
    resume = 0
    for block, (first, last) in enumerate(find_check_blocks(markdown)):
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip(" "))]
        token = issue_token(ids_by_block.get(block, []))
        output.extend(lines[resume:first])
        output.extend(["", f"{indent}{token}", ""])
        resume = last + 1
    output.extend(lines[resume:])
    return "\n".join(output)


def build_nav(pages: list[GeneratedPage], other_uris: list[str]) -> list:
    """Build the MkDocs nav: home, own pages, controls, frameworks, changes, run.

    Args:
        pages: the generated pages, from :func:`generated_pages`.
        other_uris: the Markdown pages of ``docs_dir``, listed after home in
            the given order, with titles from their headings.
    """
    by_kind: dict[PageKind, list[GeneratedPage]] = {}
    for page in pages:
        by_kind.setdefault(page.kind, []).append(page)

    layers: dict[str, list[dict[str, str]]] = {}
    for page in by_kind.get(PageKind.CONTROL, []):
        layers.setdefault(page.control.control.layer, []).append({page.title: page.uri})
    controls: list = [CONTROLS_URI]
    controls += [
        {layer.capitalize(): layers[layer]} for layer in LAYERS if layer in layers
    ]

    nav: list = [{"Home": HOME_URI}, *other_uris, {"Controls": controls}]
    frameworks = [{p.title: p.uri} for p in by_kind.get(PageKind.FRAMEWORK, [])]
    if frameworks:
        nav.append({"Frameworks": frameworks})
    for page in by_kind.get(PageKind.CHANGES, []):
        nav.append({page.title: page.uri})
    nav.append({"Evidence run": RUN_URI})
    return nav
