"""Control documents: Markdown with YAML front matter, and their check references.

A control document starts with front matter between ``---`` lines. Its body
names the checks that prove it in fenced blocks whose info string is
``auditbook``, one check ID a line::

    ```auditbook
    aws.iam.root_mfa_enabled
    aws.iam.root_hardware_mfa
    ```

GitHub shows such a block as code in a pull request; the site replaces it
with the evidence.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from auditbook.errors import ControlError
from auditbook.frameworks import FRAMEWORKS
from auditbook.models import Severity
from auditbook.yamlfile import YamlLimitError, load_yaml

BLOCK_INFO = "auditbook"
LAYERS = (
    "identity",
    "network",
    "data",
    "application",
    "monitoring",
    "residency",
    "governance",
)
MAX_CONTROL_BYTES = 512 * 1024

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")


@dataclass(frozen=True)
class CheckRef:
    """A check ID named in a control's body, and where.

    Attributes:
        check_id: the ID as written.
        line: the 1-based line in the control document.
        block: the index of the ``auditbook`` block that contains it.
    """

    check_id: str
    line: int
    block: int


@dataclass(frozen=True)
class Control:
    """A parsed control document."""

    id: str
    title: str
    layer: str
    severity: Severity
    owner: str
    path: Path
    body: str
    body_line: int
    kind: str = "automated"
    frameworks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    related: tuple[str, ...] = ()
    cloudtrail: tuple[dict[str, Any], ...] = ()
    check_refs: tuple[CheckRef, ...] = ()
    front_matter_lines: dict[str, int] = field(default_factory=dict)

    @property
    def check_ids(self) -> list[str]:
        """Return the referenced check IDs, each once, in document order."""
        return list(dict.fromkeys(ref.check_id for ref in self.check_refs))

    @property
    def slug(self) -> str:
        """Return the lower-case id used in file names and URLs."""
        return self.id.lower()


@cache
def control_schema() -> dict[str, Any]:
    """Return the JSON Schema of control front matter."""
    text = resources.files("auditbook").joinpath("schemas/control.schema.json")
    return json.loads(text.read_text(encoding="utf-8"))


def parse_control(path: Path, text: str | None = None) -> Control:
    """Parse one control document.

    Raises:
        ControlError: the file is unreadable, has no or malformed front matter,
            or a front-matter value is invalid; the error names the line.
    """
    path = Path(path)
    if text is None:
        text = _read(path)

    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ControlError(
            "missing front matter; start the file with a '---' line, then the "
            "YAML keys id, title, layer, severity and owner, then '---'",
            path=path,
            line=1,
        )
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise ControlError(
            "front matter is not closed; add a '---' line after the last YAML key",
            path=path,
            line=1,
        )

    front = _load_front_matter(path, "\n".join(lines[1:end]))
    _validate_front_matter(path, front)
    data = front.data
    body_line = end + 2
    body = "\n".join(lines[end + 1 :])

    return Control(
        id=data["id"],
        title=data["title"],
        layer=data["layer"],
        severity=Severity(data["severity"]),
        owner=data["owner"],
        kind=data.get("type", "automated"),
        path=path,
        body=body,
        body_line=body_line,
        frameworks={k: tuple(v) for k, v in (data.get("frameworks") or {}).items()},
        related=tuple(data.get("related", ())),
        cloudtrail=tuple(data.get("cloudtrail", ())),
        check_refs=tuple(find_check_refs(body, body_line)),
        front_matter_lines={str(key): front.line_of((key,)) or 2 for key in data},
    )


def _read(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_CONTROL_BYTES:
            raise ControlError(
                f"file is {size} bytes, over the {MAX_CONTROL_BYTES}-byte limit; "
                "split it into several controls",
                path=path,
            )
        content = path.read_bytes()
    except OSError as exc:
        raise ControlError(
            f"cannot read the file: {exc.strerror or exc}", path=path
        ) from exc
    return decode_utf8(content, path)


def decode_utf8(content: bytes, path: Path) -> str:
    """Decode a file's bytes as UTF-8, dropping a byte order mark.

    Editors on Windows often save UTF-8 with a byte order mark, which would
    otherwise hide the front matter's first ``---`` line.

    Raises:
        ControlError: the bytes are not UTF-8; the error names the line.
    """
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        raise ControlError(
            f"not UTF-8 text (byte {exc.start}, 0x{content[exc.start]:02x}); "
            "save the file as UTF-8",
            path=path,
            line=line,
        ) from exc


def _load_front_matter(path: Path, text: str):
    try:
        document = load_yaml(text, first_line=2)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ControlError(
            f"invalid YAML in front matter: {problem}",
            path=path,
            line=mark.line + 2 if mark else 2,
        ) from exc
    except YamlLimitError as exc:
        mark = exc.problem_mark
        raise ControlError(
            exc.problem, path=path, line=mark.line + 2 if mark else 2
        ) from exc

    if not isinstance(document.data, dict):
        raise ControlError(
            "front matter must be a YAML mapping of keys such as 'id: IAM-01'",
            path=path,
            line=2,
        )
    return document


def _validate_front_matter(path: Path, front) -> None:
    validator = jsonschema.Draft202012Validator(control_schema())
    errors = sorted(
        validator.iter_errors(front.data), key=lambda e: list(map(str, e.path))
    )
    if not errors:
        _validate_clauses(path, front)
        return

    error = errors[0]
    key = ".".join(str(p) for p in error.path) or "front matter"
    raise ControlError(
        f"{key}: {_describe(error)}", path=path, line=front.line_of(error.path, 2)
    )


def _validate_clauses(path: Path, front) -> None:
    for framework_key, clauses in (front.data.get("frameworks") or {}).items():
        framework = FRAMEWORKS[framework_key]
        for index, clause in enumerate(clauses):
            if clause in framework.clauses:
                continue
            close = difflib.get_close_matches(clause, list(framework.clauses), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ControlError(
                f"frameworks.{framework_key}: {clause!r} is not a clause of "
                f"{framework.title}{hint}",
                path=path,
                line=front.line_of(("frameworks", framework_key, index), 2),
            )


def _describe(error: jsonschema.ValidationError) -> str:
    validator = error.validator
    if validator == "required":
        return f"{error.message}; add it to the front matter"
    if validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"{error.message}; allowed keys are {allowed}"
    if validator == "enum":
        allowed = ", ".join(str(v) for v in error.schema["enum"])
        return f"{error.instance!r} is not allowed; use one of {allowed}"
    if validator == "propertyNames":
        allowed = ", ".join(error.schema.get("enum", FRAMEWORKS))
        return f"unknown framework {error.instance!r}; use one of {allowed}"
    if validator == "type" and isinstance(error.instance, bool):
        return (
            f"YAML reads the value as the boolean {error.instance}, which is not "
            f"of type {error.validator_value!r}; quote it to keep it as text"
        )
    if validator == "type" and isinstance(error.instance, float | int):
        return (
            f"{error.instance!r} is a number; quote it (for example '1.10') so "
            "YAML keeps it as text"
        )
    if validator == "type" and isinstance(error.instance, date):
        return (
            f"YAML reads {error.instance.isoformat()} as a date, which is not of "
            f"type {error.validator_value!r}; quote it to keep it as text"
        )
    if validator == "pattern":
        return (
            f"{error.instance!r} does not match the pattern {error.schema['pattern']!r}"
        )
    return error.message


def find_check_refs(body: str, first_line: int) -> list[CheckRef]:
    """Find the check IDs inside ``auditbook`` fenced blocks of a Markdown body."""
    refs: list[CheckRef] = []
    fence: str | None = None
    in_block = False
    block = -1

    for offset, line in enumerate(body.splitlines()):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match["fence"]
                in_block = match["info"] == BLOCK_INFO
                block += in_block
            continue
        if match and match["fence"].startswith(fence) and not match["info"]:
            fence = None
            in_block = False
            continue
        if in_block:
            entry = line.split("#", 1)[0].strip()
            if entry:
                refs.append(CheckRef(entry, first_line + offset, block))
    return refs


def find_check_blocks(body: str) -> list[tuple[int, int]]:
    """Find the line spans of the ``auditbook`` fenced blocks of a Markdown body.

    Returns:
        One ``(first, last)`` pair of 0-based line offsets per block, fences
        included, in the order that :attr:`CheckRef.block` counts. A block
        that is never closed runs to the last line, as it does in Markdown.
    """
    lines = body.splitlines()
    spans: list[tuple[int, int]] = []
    fence: str | None = None
    start: int | None = None

    for offset, line in enumerate(lines):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match["fence"]
                start = offset if match["info"] == BLOCK_INFO else None
            continue
        if match and match["fence"].startswith(fence) and not match["info"]:
            if start is not None:
                spans.append((start, offset))
            fence = None
            start = None

    if start is not None:
        spans.append((start, len(lines) - 1))
    return spans


@dataclass
class ControlLibrary:
    """Every control document in a folder, and the problems found in them."""

    controls: list[Control]
    errors: list[ControlError]

    def by_id(self) -> dict[str, Control]:
        """Return the controls keyed by id."""
        return {control.id: control for control in self.controls}

    def check_ids(self) -> list[str]:
        """Return every referenced check ID, each once, sorted."""
        return sorted({cid for control in self.controls for cid in control.check_ids})


def load_library(
    folder: Path, known_check_ids: set[str] | None = None
) -> ControlLibrary:
    """Parse every ``*.md`` under a folder and validate the set.

    A file that cannot be parsed is left out and its error recorded, so one
    broken file does not hide the others. With ``known_check_ids``, unknown
    IDs are reported with the closest known ID.
    """
    folder = Path(folder)
    controls: list[Control] = []
    errors: list[ControlError] = []

    for path in sorted(folder.rglob("*.md")):
        try:
            controls.append(parse_control(path))
        except ControlError as exc:
            errors.append(exc)

    errors.extend(_duplicate_ids(controls))
    if known_check_ids is not None:
        errors.extend(unknown_check_refs(controls, known_check_ids))
    errors.extend(_broken_links(controls))
    errors.extend(_missing_checks(controls))

    controls.sort(key=lambda c: (LAYERS.index(c.layer), c.id))
    return ControlLibrary(controls, errors)


def _duplicate_ids(controls: list[Control]) -> list[ControlError]:
    seen: dict[str, Control] = {}
    errors = []
    for control in sorted(controls, key=lambda c: str(c.path)):
        first = seen.setdefault(control.id, control)
        if first is not control:
            errors.append(
                ControlError(
                    f"duplicate control id {control.id!r}, already used by "
                    f"{first.path}; give this control a new id",
                    path=control.path,
                    line=control.front_matter_lines.get("id"),
                )
            )
    return errors


def unknown_check_refs(controls: list[Control], known: set[str]) -> list[ControlError]:
    """Return an error for every referenced check ID that is not registered."""
    errors = []
    for control in controls:
        for ref in control.check_refs:
            if ref.check_id in known:
                continue
            close = difflib.get_close_matches(
                ref.check_id, sorted(known), n=1, cutoff=0.6
            )
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else "; run 'auditbook checks' for the list"
            )
            errors.append(
                ControlError(
                    f"unknown check ID {ref.check_id!r}{hint}",
                    path=control.path,
                    line=ref.line,
                )
            )
    return errors


def _broken_links(controls: list[Control]) -> list[ControlError]:
    ids = {control.id for control in controls}
    errors = []
    for control in controls:
        for related in control.related:
            if related not in ids:
                errors.append(
                    ControlError(
                        f"related control {related!r} does not exist",
                        path=control.path,
                        line=control.front_matter_lines.get("related"),
                    )
                )
    return errors


def _missing_checks(controls: list[Control]) -> list[ControlError]:
    errors = []
    for control in controls:
        if control.kind == "automated" and not control.check_refs:
            errors.append(
                ControlError(
                    "an automated control names no check; add a fenced "
                    f"```{BLOCK_INFO} block listing check IDs, or set 'type: manual'",
                    path=control.path,
                    line=control.body_line,
                )
            )
        if control.kind == "manual" and control.check_refs:
            errors.append(
                ControlError(
                    "a manual control cannot name checks; remove the block or set "
                    "'type: automated'",
                    path=control.path,
                    line=control.check_refs[0].line,
                )
            )
    return errors
