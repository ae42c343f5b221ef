"""Safe YAML loading that remembers the line of every key.

Control documents and the configuration come from pull requests, so YAML tags
that construct Python objects are never honoured. Control documents reject
them; in ``mkdocs.yml`` MkDocs' ``!!python/...`` tags load as
:class:`PythonTag` strings and ``!ENV`` reads an environment variable.

YAML requires the keys of a mapping to be unique, but PyYAML keeps the last
value of a repeated key without a word. Control documents, attestations and
exceptions files reject a repeated key. ``mkdocs.yml`` records them in
:attr:`YamlDocument.duplicates`, because MkDocs accepts them outside the
auditbook options.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

# Limits far above any real control document or configuration. The node
# limit counts aliases as often as they are used, which stops a
# billion-laughs file before anything walks its expansion.
MAX_YAML_CHARS = 1_000_000
MAX_YAML_NODES = 200_000


class YamlLimitError(ValueError):
    """A YAML text is too long, too deeply nested or expands to too many nodes.

    Attributes:
        problem: what is wrong and how to fix it.
        problem_mark: where, with a 0-based line relative to the text, as
            PyYAML's own errors carry it; ``None`` for the whole text.
    """

    def __init__(self, problem: str, problem_mark: yaml.Mark | None = None) -> None:
        self.problem = problem
        self.problem_mark = problem_mark
        super().__init__(problem)


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping repeats a key, of which PyYAML would keep only the last value."""


class PythonTag(str):
    """The text of an ``mkdocs.yml`` value written with a ``!!python/...`` tag.

    MkDocs builds a Python object from such a tag when it loads the file;
    auditbook keeps the tag as text and never builds the object.
    """


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that rejects every tag outside YAML's core schema."""


class _MkDocsLoader(yaml.SafeLoader):
    """A SafeLoader that tolerates MkDocs' tags without acting on them."""


def _construct_env(loader: _MkDocsLoader, node: yaml.Node) -> Any:
    names = (
        loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else [loader.construct_scalar(node)]
    )
    default = names[-1] if len(names) > 1 else None
    for name in names[:-1] if len(names) > 1 else names:
        if name in os.environ:
            return os.environ[name]
    return default


def _construct_python_tag(
    loader: _MkDocsLoader, suffix: str, node: yaml.Node
) -> PythonTag:
    return PythonTag(f"!!python/{suffix}")


_MkDocsLoader.add_constructor("!ENV", _construct_env)
_MkDocsLoader.add_multi_constructor("tag:yaml.org,2002:python/", _construct_python_tag)


class YamlDocument:
    """A parsed YAML document and the line of each key and item in it.

    Attributes:
        data: the document's value.
        duplicates: each repeated key as ``(path, line, first_line)``, with
            1-based file lines; empty unless ``mkdocs_tags`` was set, because
            other documents reject a repeated key.
    """

    def __init__(
        self,
        data: Any,
        lines: dict[tuple, int],
        duplicates: list[tuple[tuple, int, int]] | None = None,
    ) -> None:
        self.data = data
        self._lines = lines
        self.duplicates = duplicates or []

    def line_of(self, path: tuple | list, default: int | None = None) -> int | None:
        """Return the 1-based line of the key at ``path``, or of its nearest parent."""
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return self._lines.get((), default)


def load_yaml(
    text: str, first_line: int = 1, *, mkdocs_tags: bool = False
) -> YamlDocument:
    """Parse one YAML document and record where each key is.

    Args:
        text: the YAML text.
        first_line: the file line on which ``text`` starts.
        mkdocs_tags: accept ``!ENV`` and ``!!python/...`` tags as MkDocs
            configuration uses them, and record repeated keys instead of
            rejecting them; otherwise either is an error.

    Raises:
        yaml.YAMLError: the text is not valid YAML, or it repeats a key
            (:class:`DuplicateKeyError`); its ``problem_mark`` is relative to
            ``text``.
        YamlLimitError: the text is longer than :data:`MAX_YAML_CHARS`, nests
            deeper than the parser can follow, or its aliases expand to more
            than :data:`MAX_YAML_NODES` nodes.
    """
    if len(text) > MAX_YAML_CHARS:
        raise YamlLimitError(
            f"YAML is {len(text):,} characters, over the limit of "
            f"{MAX_YAML_CHARS:,}; a control document or configuration is far "
            "shorter, so check that this is the right file"
        )

    try:
        loader = (_MkDocsLoader if mkdocs_tags else _StrictLoader)(text)
    except yaml.reader.ReaderError as exc:
        raise _unreadable_character(exc, text) from None
    try:
        node = loader.get_single_node()
        lines: dict[tuple, int] = {}
        duplicates: list[tuple[tuple, int, int]] = []
        if node is not None:
            _record_lines(node, lines, duplicates, first_line)
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:
        raise _unreadable_character(exc, text) from None
    except RecursionError:
        # PyYAML composes and constructs nested collections recursively.
        raise YamlLimitError(
            "YAML nests collections deeper than the parser can follow; "
            "flatten the nesting",
            loader.get_mark(),
        ) from None
    finally:
        loader.dispose()

    if duplicates and not mkdocs_tags:
        path, line, first = min(duplicates, key=lambda duplicate: duplicate[1])
        key = path[-1] if path else "?"
        raise DuplicateKeyError(
            problem=(
                f"key {key!r} appears twice, first at line {first}; YAML keeps "
                "only the last value, so remove one"
            ),
            problem_mark=yaml.Mark("<yaml>", 0, line - first_line, 0, None, None),
        )
    return YamlDocument(data, lines, duplicates)


def _unreadable_character(exc: yaml.reader.ReaderError, text: str) -> yaml.YAMLError:
    # PyYAML's reader error gives an offset in place of a line and column.
    line = text.count("\n", 0, exc.position)
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1)
    character = exc.character
    code = character if isinstance(character, int) else ord(character)
    return yaml.MarkedYAMLError(
        problem=f"the character U+{code:04X} is not allowed in YAML; remove it",
        problem_mark=yaml.Mark("<yaml>", exc.position, line, column, None, None),
    )


def _record_lines(
    root: yaml.Node,
    lines: dict[tuple, int],
    duplicates: list[tuple[tuple, int, int]],
    offset: int,
) -> None:
    pending: list[tuple[yaml.Node, tuple]] = [(root, ())]
    visited = 0
    reported: set[int] = set()

    while pending:
        node, path = pending.pop()
        visited += 1
        if visited > MAX_YAML_NODES:
            raise YamlLimitError(
                f"YAML expands to more than {MAX_YAML_NODES} nodes; remove the "
                "aliases (*name) that repeat large parts of the document",
                node.start_mark,
            )

        lines.setdefault(path, node.start_mark.line + offset)
        if isinstance(node, yaml.MappingNode):
            first_lines: dict[tuple[str, Any], int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                child = (*path, key)
                line = key_node.start_mark.line + offset
                # The tag distinguishes 1 from "1". A "<<" key merges another mapping,
                # whose keys this one may override.
                identity = (key_node.tag, key)
                if identity in first_lines and key != "<<" and line not in reported:
                    reported.add(line)
                    duplicates.append((child, line, first_lines[identity]))
                first_lines.setdefault(identity, line)
                lines[child] = line
                pending.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                pending.append((item, (*path, index)))
