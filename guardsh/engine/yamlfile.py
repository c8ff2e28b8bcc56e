"""guardsh's YAML files (rules and config), read with line numbers so that every error names its line.

A problem is a ``RuleError`` whose messages name the file, the line, the rule and the key.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class RuleError(Exception):
    """A rule file is invalid; the message names file, line, rule and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class LineDict(dict):  # type: ignore[type-arg]
    line = 0
    key_lines: dict[Any, int] = {}  # each key's own line (set per instance)


class LineList(list):  # type: ignore[type-arg]
    line = 0


class LineStr(str):
    line = 0


def read_yaml(path: str) -> Any:
    """Parse YAML keeping line numbers; duplicate keys are errors, not silent overwrites."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    def mapping(loader: Any, node: Any) -> LineDict:
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                raise RuleError([f"{path}:{key_node.start_mark.line + 1}: duplicate key {key!r}"])
            result[key] = loader.construct_object(value_node, deep=True)
            try:
                result.key_lines[key] = key_node.start_mark.line + 1
            except TypeError:
                pass  # an unhashable key: the mapping's line serves
        return result

    def sequence(loader: Any, node: Any) -> LineList:
        result = LineList(loader.construct_object(n, deep=True) for n in node.value)
        result.line = node.start_mark.line + 1
        return result

    def scalar_str(loader: Any, node: Any) -> LineStr:
        result = LineStr(loader.construct_scalar(node))
        result.line = node.start_mark.line + 1
        return result

    Loader.add_constructor("tag:yaml.org,2002:map", mapping)
    Loader.add_constructor("tag:yaml.org,2002:seq", sequence)
    Loader.add_constructor("tag:yaml.org,2002:str", scalar_str)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        raise RuleError([f"{where}: invalid YAML: {getattr(e, 'problem', e)}"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise RuleError([f"{path}: cannot read: {e}"]) from None
