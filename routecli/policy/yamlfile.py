"""Load YAML while remembering the line of every mapping, key and list item, for file:line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from routecli.errors import PolicyError
from routecli.policy.located import LineDict, LineList

try:  # libyaml's parser is several times faster; the pure-Python one gives identical results
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    pass


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:  # noted, and the rest of the file still read: every mistake is reported in one run
            loader.duplicates.append((key_node.start_mark.line + 1, f"duplicate key '{key}'"))
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path, text: str | None = None) -> tuple[Any, list[PolicyError]]:
    """Parse one YAML file (or `text`, already read from it): its data and the keys written twice (the first is
    kept). A syntax error is raised as a PolicyError naming the file and line: nothing after it can be read."""
    try:
        text = path.read_text(encoding="utf-8") if text is None else text
    except OSError as exc:
        raise PolicyError(str(path), None, f"cannot read policy file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PolicyError(str(path), None, "policy file is not UTF-8 text") from None
    loader = _LineLoader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise PolicyError(str(path), line, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(str(path), None, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    return data, [PolicyError(str(path), line, message) for line, message in loader.duplicates]
