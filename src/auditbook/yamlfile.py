"""Safe YAML loading that remembers the line of every key.

Control documents and the configuration come from pull requests, so YAML tags
that construct Python objects are never honoured. Control documents reject
them; in ``mkdocs.yml`` MkDocs' ``!!python/name`` tags load as plain strings
and ``!ENV`` reads an environment variable.
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


def _construct_python_tag(loader: _MkDocsLoader, suffix: str, node: yaml.Node) -> str:
    return f"!!python/{suffix}"


_MkDocsLoader.add_constructor("!ENV", _construct_env)
_MkDocsLoader.add_multi_constructor("tag:yaml.org,2002:python/", _construct_python_tag)


class YamlDocument:
    """A parsed YAML document and the line of each key and item in it."""

    def __init__(self, data: Any, lines: dict[tuple, int]) -> None:
        self.data = data
        self._lines = lines

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
            configuration uses them; otherwise any such tag is an error.

    Raises:
        yaml.YAMLError: the text is not valid YAML; its ``problem_mark`` is
            relative to ``text``.
        ValueError: the text is longer than :data:`MAX_YAML_CHARS`, or its
            aliases expand to more than :data:`MAX_YAML_NODES` nodes.
    """
    if len(text) > MAX_YAML_CHARS:
        raise ValueError(f"YAML is {len(text)} characters, over {MAX_YAML_CHARS}")

    loader = (_MkDocsLoader if mkdocs_tags else _StrictLoader)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()

    lines: dict[tuple, int] = {}
    if node is not None:
        _record_lines(node, lines, first_line)
    return YamlDocument(data, lines)


def _record_lines(root: yaml.Node, lines: dict[tuple, int], offset: int) -> None:
    pending: list[tuple[yaml.Node, tuple]] = [(root, ())]
    visited = 0

    while pending:
        node, path = pending.pop()
        visited += 1
        if visited > MAX_YAML_NODES:
            raise ValueError(
                f"YAML expands to more than {MAX_YAML_NODES} nodes; remove the "
                "aliases (*name) that repeat large parts of the document"
            )

        lines.setdefault(path, node.start_mark.line + offset)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                child = (*path, key)
                lines[child] = key_node.start_mark.line + offset
                pending.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                pending.append((item, (*path, index)))
