"""URL rules: compiled once, matched in order, reversible by name.

A rule is ``(regex, Handler)``, ``(regex, Handler, kwargs)``,
``(regex, Handler, kwargs, name)`` or a :class:`URLSpec` made with :func:`url`.
Unnamed groups become positional arguments of the handler's method and named
groups keyword arguments (never both, as in Tornado), URL-decoded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import quote, unquote_to_bytes


class RouteMatch(NamedTuple):
    """A rule that matched a path, with the arguments it captured."""

    spec: URLSpec
    path_args: list[bytes]
    path_kwargs: dict[str, bytes]


class URLSpec:
    """One rule: a pattern, the handler class, its ``initialize`` kwargs and a name."""

    __slots__ = ("_reverse_template", "handler_class", "kwargs", "literal", "name", "regex")

    def __init__(
        self,
        pattern: str | re.Pattern[str],
        handler: Any,
        kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(pattern, str):
            if not pattern.endswith("$"):
                pattern += "$"
            try:
                regex = re.compile(pattern)
            except re.error as err:
                raise ValueError(f"invalid URL pattern {pattern!r}: {err}") from None
        else:
            regex = pattern
        if isinstance(handler, str):
            handler = _import_object(handler)
        if not isinstance(handler, type):
            raise TypeError(f"handler for {regex.pattern!r} must be a class, got {handler!r}")
        if kwargs is not None and not isinstance(kwargs, dict):
            raise TypeError(f"kwargs for {regex.pattern!r} must be a dict, got {type(kwargs).__name__}")
        self.regex = regex
        self.handler_class = handler
        self.kwargs = kwargs or {}
        self.name = name
        self._reverse_template = _reverse_template(regex)
        # The one path this rule matches when its pattern has no regex syntax
        # (``/plaintext``); None otherwise. Routers look such paths up in a dict.
        self.literal = _literal_path(regex)

    def match(self, path: str) -> RouteMatch | None:
        m = self.regex.match(path)
        if m is None:
            return None
        if self.regex.groupindex:
            kwargs = {
                k: _unquote(v) for k, v in m.groupdict().items() if v is not None
            }
            return RouteMatch(self, [], kwargs)
        groups = m.groups()
        if len(groups) == 1:
            # PERF: the usual single group without a comprehension frame.
            group = groups[0]
            args = [b"" if group is None else _unquote(group)]
        else:
            args = [_unquote(g) if g is not None else b"" for g in groups]
        match: RouteMatch = _new_match(RouteMatch, (self, args, {}))
        return match

    def reverse(self, *args: Any) -> str:
        """The path for ``args`` (one per group), each URL-escaped."""
        if self._reverse_template is None:
            raise ValueError(f"cannot reverse the complex URL pattern {self.regex.pattern!r}")
        template, groups = self._reverse_template
        if len(args) != groups:
            raise ValueError(
                f"URL pattern {self.regex.pattern!r} needs {groups} arguments, got {len(args)}"
            )
        converted = []
        for arg in args:
            if isinstance(arg, bytes):
                arg = arg.decode("utf-8")
            converted.append(quote(str(arg), safe=""))
        return template % tuple(converted)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.regex.pattern!r}, {self.handler_class.__name__}, "
                f"kwargs={self.kwargs!r}, name={self.name!r})")


_new_match = tuple.__new__


def _literal_path(regex: re.Pattern[str]) -> str | None:
    """``/a/b$`` -> ``/a/b`` when the pattern matches only that string (besides
    the newline ``$`` tolerates, left to the regex); None otherwise."""
    if regex.flags != re.UNICODE or regex.groups:
        return None
    pattern = regex.pattern
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if not pattern.endswith("$"):
        return None
    pattern = pattern[:-1]
    if any(ch in ".^$*+?{}[]|()\\" for ch in pattern):
        return None
    return pattern


def _unquote(value: str) -> bytes:
    # PERF: most captured values hold no escapes; skip the decoder for them.
    if "%" in value:
        return unquote_to_bytes(value)
    return value.encode("latin-1")


url = URLSpec
"""Alias used in rule lists: ``url(r"/story/([0-9]+)", StoryHandler, name="story")``."""


def _reverse_template(regex: re.Pattern[str]) -> tuple[str, int] | None:
    """``/a/([0-9]+)/b$`` -> (``/a/%s/b``, 1); None for patterns we cannot invert."""
    pattern = regex.pattern
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if pattern.endswith("$"):
        pattern = pattern[:-1]
    if pattern.count("(") != regex.groups or pattern.count(")") != regex.groups:
        return None  # nested or non-capturing groups
    pieces: list[str] = []
    depth = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt.isalnum():
                return None  # \d, \w, ... outside a group have no literal form
            if depth == 0:
                pieces.append(nxt.replace("%", "%%"))
            i += 2
            continue
        if ch == "(":
            depth += 1
            if depth == 1:
                pieces.append("%s")
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            if ch in ".^$*+?{}[]|":
                return None
            pieces.append(ch.replace("%", "%%"))
        i += 1
    return "".join(pieces), regex.groups


def _import_object(name: str) -> Any:
    module_name, _, attr = name.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {name!r} must be a dotted path like 'package.module.Handler'")
    import importlib

    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {attr!r}") from None


RuleSpec = URLSpec | Sequence[Any]


class Router:
    """Ordered rules for one host pattern; the first match wins."""

    __slots__ = ("_indexed", "_literals", "_patterns", "host_pattern", "named", "rules")

    def __init__(self, host_pattern: str = ".*$", rules: Sequence[RuleSpec] = ()) -> None:
        if not host_pattern.endswith("$"):
            host_pattern += "$"
        self.host_pattern = re.compile(host_pattern)
        self.rules: list[URLSpec] = []
        self.named: dict[str, URLSpec] = {}
        # PERF: an index of ``rules``, rebuilt when their number changes:
        # literal rules by path, for the paths no earlier rule matches (so the
        # dict's answer is the first match in rule order), and the other rules.
        self._literals: dict[str, URLSpec] = {}
        self._patterns: list[URLSpec] = []
        self._indexed = 0
        for rule in rules:
            self.add_rule(rule)

    def add_rule(self, rule: RuleSpec) -> URLSpec:
        spec = rule if isinstance(rule, URLSpec) else _spec_from_tuple(rule)
        self.rules.append(spec)
        if spec.name:
            if spec.name in self.named:
                raise ValueError(f"two URL rules are named {spec.name!r}")
            self.named[spec.name] = spec
        return spec

    def _index(self) -> None:
        literals: dict[str, URLSpec] = {}
        patterns: list[URLSpec] = []
        for i, spec in enumerate(self.rules):
            literal = spec.literal
            if literal is None:
                patterns.append(spec)
            elif not any(r.regex.match(literal) for r in self.rules[:i]):
                literals[literal] = spec
        self._literals = literals
        self._patterns = patterns
        self._indexed = len(self.rules)

    def find(self, path: str) -> RouteMatch | None:
        if len(self.rules) != self._indexed:
            self._index()
        spec = self._literals.get(path)
        if spec is not None:
            # PERF: tuple.__new__ skips the namedtuple's Python-level __new__.
            literal_match: RouteMatch = _new_match(RouteMatch, (spec, [], {}))
            return literal_match
        # A literal rule matches only its path, in the dict, or that path plus
        # the final newline ``$`` tolerates: other paths need only the others.
        for spec in self.rules if path.endswith("\n") else self._patterns:
            match = spec.match(path)
            if match is not None:
                return match
        return None


def _spec_from_tuple(rule: Sequence[Any]) -> URLSpec:
    if not isinstance(rule, (tuple, list)) or not 2 <= len(rule) <= 4:
        raise TypeError(
            f"a URL rule must be (pattern, Handler[, kwargs[, name]]) or url(...), got {rule!r}"
        )
    return URLSpec(*rule)
