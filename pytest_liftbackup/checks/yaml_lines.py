"""YAML read with line numbers, so every error in a check file can say `file:line` and the key.

PyYAML's safe loader builds plain dicts and lists and forgets where they came from; the node tree it
composes first does know. This small subclass keeps each mapping key's line (and each list item's)
on the containers, and refuses duplicate keys, which PyYAML would silently let the last one win.

A check file is read before anything else runs, so it must not be able to stall or exhaust the run:
keys are plain scalars (an alias or a list as a key is how "billion laughs" makes `str(key)` explode),
aliases may not expand to more than MAX_NODES nodes in all, and nesting too deep for the parser is a
located error like any other, not a RecursionError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class YamlError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class LocatedDict(dict[str, Any]):
    """A mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


MAX_NODES = 100_000


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has once every alias is expanded; MAX_NODES + 1 when over."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = MAX_NODES + 1  # a node that contains itself never ends
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                break
        sizes[id(node)] = min(total, MAX_NODES + 1)
        return sizes[id(node)]

    return size(root)


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        node: yaml.Node | None = super().compose_node(parent, index)
        if parent is None and node is not None and _expanded_size(node) > MAX_NODES:
            raise YamlError(
                node.start_mark.line + 1,
                f"aliases expand this document to more than {MAX_NODES} values; write it out plainly",
            )
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LocatedDict:  # type: ignore[override]
        self.flatten_mapping(node)
        result = LocatedDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(line, "a key must be a plain name, not a list, mapping or alias of one")
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)  # `1: x` or `true: x`: keys are names here
            if key in result:
                raise YamlError(line, f"duplicate key {key!r} (first at line {result.key_lines[key]})")
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = line
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LocatedList:
        result = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


def load(path: Path) -> Any:
    """The document in `path`, with located containers; YamlError with a line for anything wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(1, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "not valid YAML"
        raise YamlError(line, f"not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(1, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlError(1, "nested too deeply to read; flatten the structure") from None
