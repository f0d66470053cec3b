"""Command-line, config-file and environment options, in the style of ``tornado.options``.

Any module may ``define()`` the options it needs next to the code that uses them; the
application parses them once at start-up::

    from squall.options import define, options, parse_all

    define("port", default=8888, help="listen on this port")
    define("debug", default=False, group="app")

    parse_all(config_file="app.toml")   # defaults < app.toml < $SQUALL_* < argv
    app.listen(options.port)

Sources override each other in the order they are parsed, so an application that calls
:func:`parse_config_file`, then :func:`parse_environment`, then
:func:`parse_command_line` (which is exactly what :func:`parse_all` does) gets the
precedence *defaults < config file < environment < command line*.

The module-level ``options`` object is the one documented global; libraries and tests
that need isolation create their own :class:`OptionParser`.
"""

from __future__ import annotations

import builtins
import datetime
import difflib
import os
import re
import sys
import textwrap
import tomllib
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, TextIO

__all__ = [
    "Error",
    "OptionParser",
    "add_parse_callback",
    "define",
    "options",
    "parse_all",
    "parse_command_line",
    "parse_config_file",
    "parse_environment",
    "print_help",
]


class Error(Exception):
    """Any misuse of options: an unknown name, a value of the wrong type, a redefinition."""


_UNSET: Any = object()
_THIS_FILE = os.path.normcase(os.path.abspath(__file__))


def _normalize(name: str) -> str:
    """``log_file`` and ``log-file`` name the same option; the dashed form is canonical."""
    return name.replace("_", "-")


# ---------------------------------------------------------------------------
# Parsing strings into typed values
# ---------------------------------------------------------------------------

_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


_DATETIME_FORMATS = (
    "%a %b %d %H:%M:%S %Y",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%H:%M:%S",
    "%H:%M",
)


def _parse_datetime(text: str) -> datetime.datetime:
    text = text.strip()
    try:
        # Python 3.11 accepts nearly all of ISO 8601: 2024-01-31, 2024-01-31T12:00, ...
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(text)


_TIMEDELTA_UNITS = {
    "": "seconds",
    "s": "seconds",
    "sec": "seconds",
    "secs": "seconds",
    "second": "seconds",
    "seconds": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "week": "weeks",
    "weeks": "weeks",
}
_TIMEDELTA_PART = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)\s*")


def _parse_timedelta(text: str) -> datetime.timedelta:
    """Parse ``"45"`` (seconds), ``"500ms"``, ``"5m"``, ``"1.5h"`` or ``"1h 30m"``."""
    total = datetime.timedelta()
    position = 0
    while position < len(text):
        match = _TIMEDELTA_PART.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(text)
        unit = _TIMEDELTA_UNITS.get(match.group(2).lower())
        if unit is None:
            raise ValueError(text)
        total += datetime.timedelta(**{unit: float(match.group(1))})
        position = match.end()
    if position == 0:
        raise ValueError(text)
    return total


def _describe_type(kind: type[Any]) -> str:
    if kind is datetime.timedelta:
        return "timedelta (like 30s, 5m, 1h30m)"
    if kind is datetime.datetime:
        return "datetime (like 2024-01-31 or 2024-01-31T12:00)"
    if kind is bool:
        return "bool (true/false, yes/no, on/off, 1/0)"
    return kind.__name__


# ---------------------------------------------------------------------------
# One option
# ---------------------------------------------------------------------------


class _Option:
    """One defined option: its declaration and its current value."""

    def __init__(
        self,
        name: str,
        default: Any,
        type: type[Any],
        help: str | None,
        metavar: str | None,
        multiple: bool,
        file_name: str,
        group_name: str,
        callback: Callable[[Any], None] | None,
        defined_at: str,
    ) -> None:
        if default is None and multiple:
            default = []
        self.name = name
        self.default = default
        self.type = type
        self.help = help
        self.metavar = metavar
        self.multiple = multiple
        self.file_name = file_name
        self.group_name = group_name
        self.callback = callback
        self.defined_at = defined_at
        self._value: Any = _UNSET

    def value(self) -> Any:
        return self.default if self._value is _UNSET else self._value

    def _parse_one(self, text: str) -> Any:
        try:
            if self.type is bool:
                return _parse_bool(text)
            if self.type is datetime.datetime:
                return _parse_datetime(text)
            if self.type is datetime.timedelta:
                return _parse_timedelta(text)
            if self.type is str:
                return text
            return self.type(text)
        except (ValueError, TypeError):
            expected = _describe_type(self.type)
            if self.multiple:
                expected = f"comma-separated list of {expected}"
            raise Error(
                f"Option {self.name!r}: invalid value {text!r}, expected {expected}"
            ) from None

    def parse(self, text: str) -> Any:
        """Set the value from its string form (command line, environment); return it."""
        if not self.multiple:
            value = self._parse_one(text)
        else:
            value = []
            for part in (p.strip() for p in text.split(",")):
                if not part:
                    continue
                if self.type is int and ":" in part:
                    # "1:3" is the inclusive range [1, 2, 3], handy for ports and CPU ids.
                    low, _, high = part.partition(":")
                    first, last = self._parse_one(low), self._parse_one(high)
                    if first > last:
                        raise Error(f"Option {self.name!r}: range {part!r} is empty")
                    value.extend(range(first, last + 1))
                else:
                    value.append(self._parse_one(part))
        self._store(value)
        return value

    def _check(self, value: Any) -> Any:
        # bool is an int subclass, but True is not a sensible port number.
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, bool) and self.type is not bool:
            raise TypeError
        if value is not None and not isinstance(value, self.type):
            raise TypeError
        return value

    def set(self, value: Any) -> None:
        """Set an already-typed value (from Python code or a config file)."""
        try:
            if self.multiple:
                if not isinstance(value, list | tuple):
                    raise TypeError
                value = [self._check(item) for item in value]
            else:
                value = self._check(value)
        except TypeError:
            expected = _describe_type(self.type)
            if self.multiple:
                expected = f"list of {expected}"
            raise Error(
                f"Option {self.name!r}: invalid value {value!r} "
                f"({type(value).__name__}), expected {expected}"
            ) from None
        self._store(value)

    def _store(self, value: Any) -> None:
        self._value = value
        if self.callback is not None:
            self.callback(value)


def _caller_location() -> tuple[str, str]:
    """Return (file, "file:line") of the code that called ``define``.

    Called from :meth:`OptionParser.define`; the module-level :func:`define` is skipped
    too. Options this module defines for itself (``--help``) get an empty file name,
    which puts them in the unnamed group printed first.
    """
    frame: types.FrameType | None = sys._getframe(2)
    if frame is not None and _is_this_file(frame) and frame.f_code.co_name == "define":
        frame = frame.f_back
    if frame is None or _is_this_file(frame):
        return "", "squall.options"
    return frame.f_code.co_filename, f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _is_this_file(frame: types.FrameType) -> bool:
    return os.path.normcase(os.path.abspath(frame.f_code.co_filename)) == _THIS_FILE


# ---------------------------------------------------------------------------
# The collection of options
# ---------------------------------------------------------------------------


class OptionParser:
    """A collection of options, accessed as attributes: ``parser.port``.

    Most programs use the global ``options`` instance through the module-level
    functions; tests and libraries create their own parser so they do not interfere.
    """

    _options: dict[str, _Option]
    _parse_callbacks: list[Callable[[], None]]

    def __init__(self) -> None:
        # Bypass __setattr__, which is reserved for setting option values.
        self.__dict__["_options"] = {}
        self.__dict__["_parse_callbacks"] = []
        self.define(
            "help", default=False, help="show this help information", callback=self._help_callback
        )

    # -- attribute and mapping access ----------------------------------------

    def _suggest(self, name: str) -> str:
        close = difflib.get_close_matches(_normalize(name), list(self._options), n=3)
        if not close:
            return ""
        return " (did you mean " + " or ".join(f"--{c}" for c in close) + "?)"

    def _find(self, name: str, error: type[LookupError] | type[AttributeError]) -> _Option:
        option = self._options.get(_normalize(name))
        if option is None:
            raise error(f"Unrecognized option {name!r}{self._suggest(name)}")
        return option

    def __getattr__(self, name: str) -> Any:
        return self._find(name, AttributeError).value()

    def __setattr__(self, name: str, value: Any) -> None:
        self._find(name, AttributeError).set(value)

    def __getitem__(self, name: str) -> Any:
        return self._find(name, KeyError).value()

    def __setitem__(self, name: str, value: Any) -> None:
        self._find(name, KeyError).set(value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _normalize(name) in self._options

    def __iter__(self) -> Iterator[str]:
        return (option.name for option in self._options.values())

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` for every option."""
        return [(option.name, option.value()) for option in self._options.values()]

    def groups(self) -> set[str]:
        """The names of all groups that have at least one option."""
        return {option.group_name for option in self._options.values()}

    def group_dict(self, group: str) -> dict[str, Any]:
        """``{name: value}`` for the options in ``group`` (all options if ``group`` is empty).

        Handy for passing a group straight to a constructor, such as application settings.
        """
        return {
            option.name: option.value()
            for option in self._options.values()
            if not group or option.group_name == group
        }

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}`` for every option."""
        return {option.name: option.value() for option in self._options.values()}

    # -- definition ------------------------------------------------------------

    def define(
        self,
        name: str,
        default: Any = None,
        type: type[Any] | None = None,
        help: str | None = None,
        metavar: str | None = None,
        multiple: bool = False,
        group: str | None = None,
        callback: Callable[[Any], None] | None = None,
    ) -> None:
        """Declare an option.

        ``type`` defaults to the type of ``default`` (``str`` when the default is ``None``
        or the option is ``multiple``). ``multiple`` options hold lists and are written
        ``--ports=80,443`` or, for ints, as ranges ``--cpus=0:3``. ``group`` (by default
        the file that calls ``define``) groups options in ``--help`` and in TOML tables.
        ``callback`` is called with the new value each time the option is set.
        """
        normalized = _normalize(name)
        file_name, defined_at = _caller_location()
        existing = self._options.get(normalized)
        if existing is not None:
            raise Error(
                f"Option {normalized!r} already defined in {existing.defined_at}, "
                f"cannot define it again in {defined_at}"
            )
        if type is None:
            type = default.__class__ if default is not None and not multiple else str
        if not isinstance(type, builtins.type):
            raise TypeError(f"type of option {normalized!r} must be a class, not {type!r}")
        self._options[normalized] = _Option(
            name,
            default=default,
            type=type,
            help=help,
            metavar=metavar,
            multiple=multiple,
            file_name=file_name,
            group_name=group if group is not None else file_name,
            callback=callback,
            defined_at=defined_at,
        )

    # -- sources ---------------------------------------------------------------

    def _lookup(self, name: str, where: str) -> _Option:
        option = self._options.get(_normalize(name))
        if option is None:
            raise Error(f"Unrecognized {where} option {name!r}{self._suggest(name)}")
        return option

    def parse_command_line(self, args: list[str] | None = None, final: bool = True) -> list[str]:
        """Parse ``--name=value`` arguments and return the remaining positional arguments.

        ``args[0]`` is the program name, as in ``sys.argv`` (the default). Accepted forms:
        ``--name=value``, ``--name value``, and a bare ``--flag`` meaning true for bool
        options (so ``--flag value`` does not consume ``value``). Parsing stops at the
        first argument not starting with ``-`` or after ``--``. ``--help`` prints the help
        to stdout and exits with status 0.
        """
        if args is None:
            args = sys.argv
        remaining: list[str] = []
        index = 1
        while index < len(args):
            arg = args[index]
            if arg == "--":
                remaining = args[index + 1 :]
                break
            if not arg.startswith("-") or arg == "-":
                remaining = args[index:]
                break
            name, equals, value = arg.lstrip("-").partition("=")
            option = self._lookup(name, "command line")
            if not equals:
                if option.type is bool and not option.multiple:
                    value = "true"
                elif index + 1 < len(args) and not args[index + 1].startswith("--"):
                    index += 1
                    value = args[index]
                else:
                    raise Error(f"Option {option.name!r} requires a value: --{name}=VALUE")
            option.parse(value)
            index += 1
        if final:
            self.run_parse_callbacks()
        return remaining

    def parse_config_file(self, path: str | os.PathLike[str], final: bool = True) -> None:
        """Set options from a Python file, or from a TOML file if ``path`` ends in ``.toml``.

        A Python file is executed and its top-level names that match defined options are
        used; other names (imports, helpers) are ignored, as in Tornado. A TOML file is
        pure data, so every key must be an option: top-level keys, or keys inside a table
        named after the option's group (an explicit ``group=``, or the stem of the file that
        defined it, such as ``[server]`` for options defined in ``server.py``).
        """
        path = os.fspath(path)
        try:
            if path.endswith(".toml"):
                self._load_toml(path)
            else:
                self._load_python(path)
        except Error as exc:
            raise Error(f"{path}: {exc}") from None
        if final:
            self.run_parse_callbacks()

    def _load_python(self, path: str) -> None:
        namespace: dict[str, Any] = {"__file__": os.path.abspath(path)}
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec")
        exec(code, namespace, namespace)
        for name, value in namespace.items():
            option = self._options.get(_normalize(name))
            if option is not None:
                self._set_from_config(option, value)

    def _load_toml(self, path: str) -> None:
        with open(path, "rb") as source:
            try:
                data = tomllib.load(source)
            except tomllib.TOMLDecodeError as exc:
                raise Error(f"invalid TOML: {exc}") from None
        for key, value in data.items():
            if isinstance(value, dict):
                self._load_toml_table(key, value)
            else:
                self._set_from_config(self._lookup(key, "config file"), value)

    def _load_toml_table(self, table: str, values: dict[str, Any]) -> None:
        groups = {g for g in self.groups() if _group_matches(table, g)}
        if not groups:
            names = sorted({_group_label(g) for g in self.groups() if g})
            raise Error(f"table [{table}] names no option group (groups: {', '.join(names)})")
        for key, value in values.items():
            option = self._lookup(key, f"[{table}]")
            if option.group_name not in groups:
                raise Error(
                    f"option {option.name!r} belongs to group "
                    f"{_group_label(option.group_name)!r}, not [{table}]"
                )
            self._set_from_config(option, value)

    @staticmethod
    def _set_from_config(option: _Option, value: Any) -> None:
        if isinstance(value, str) and (option.multiple or option.type is not str):
            option.parse(value)
        elif option.type is datetime.timedelta and isinstance(value, int | float):
            # A bare number in a config file means seconds, as on the command line.
            option.set(datetime.timedelta(seconds=value))
        else:
            option.set(value)

    def parse_environment(
        self,
        prefix: str = "SQUALL_",
        environ: Mapping[str, str] | None = None,
        final: bool = True,
    ) -> None:
        """Set options from environment variables: ``SQUALL_PORT=9000`` sets ``port``.

        The rest of the variable name is matched case-insensitively, with ``_`` and ``-``
        equivalent. Variables with the prefix that match no option are ignored, because
        the environment is shared with other programs.
        """
        if environ is None:
            environ = os.environ
        by_name = {name.lower(): option for name, option in self._options.items()}
        for key, value in sorted(environ.items()):
            if not key.startswith(prefix) or len(key) == len(prefix):
                continue
            option = by_name.get(_normalize(key[len(prefix) :]).lower())
            if option is None:
                continue
            try:
                option.parse(value)
            except Error as exc:
                raise Error(f"environment variable {key}: {exc}") from None
        if final:
            self.run_parse_callbacks()

    def parse_all(
        self,
        args: list[str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        env_prefix: str | None = "SQUALL_",
        environ: Mapping[str, str] | None = None,
        config_option: str | None = None,
    ) -> list[str]:
        """Parse the config file, then the environment, then the command line.

        Later sources win, giving *defaults < config file < environment < command line*.
        Parse callbacks run once, at the end. Returns the remaining positional arguments.
        With ``config_option`` (e.g. ``"config"``) and no ``config_file``, the file is
        the one that option names on the command line (``--config=F`` or ``--config F``)
        or in the environment, read first so that everything else still overrides it.
        """
        if config_file is None and config_option is not None:
            config_file = self._config_path(config_option, args, env_prefix, environ)
        if config_file is not None:
            self.parse_config_file(config_file, final=False)
        if env_prefix is not None:
            self.parse_environment(env_prefix, environ, final=False)
        return self.parse_command_line(args, final=True)

    def _config_path(
        self,
        option: str,
        args: list[str] | None,
        env_prefix: str | None,
        environ: Mapping[str, str] | None,
    ) -> str | None:
        """The value ``option`` has on the command line, else in the environment."""
        flag = "--" + _normalize(option)
        argv = sys.argv if args is None else args
        for index, arg in enumerate(argv[1:], start=1):
            if arg == "--" or not arg.startswith("-"):
                break
            name, sep, value = arg.partition("=")
            if _normalize(name) != flag:
                continue
            if sep:
                return value
            if index + 1 < len(argv) and not argv[index + 1].startswith("--"):
                return argv[index + 1]
            raise Error(f"option {flag} needs a file name")
        if env_prefix is not None:
            env = os.environ if environ is None else environ
            from_env = env.get(env_prefix + option.upper().replace("-", "_"))
            if from_env:
                return from_env
        return None

    # -- help and callbacks ------------------------------------------------------

    def print_help(self, file: TextIO | IO[str] | None = None) -> None:
        """Print every option with its help and default, grouped by group name."""
        out = file if file is not None else sys.stdout
        program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "program"
        print(f"Usage: {program} [OPTIONS]", file=out)
        print("\nOptions:\n", file=out)
        by_group: dict[str, list[_Option]] = {}
        for option in self._options.values():
            by_group.setdefault(option.group_name, []).append(option)
        for group in sorted(by_group, key=lambda g: (g != "", g)):
            if group:
                print(f"\n{_group_label(group)} options:\n", file=out)
            for option in sorted(by_group[group], key=lambda o: o.name):
                _print_option(option, out)
        print(file=out)

    def _help_callback(self, value: bool) -> None:
        if value:
            self.print_help()
            sys.exit(0)

    def add_parse_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after the final parse (the one with ``final=True``)."""
        self._parse_callbacks.append(callback)

    def run_parse_callbacks(self) -> None:
        for callback in list(self._parse_callbacks):
            callback()

    def mockable(self) -> _Mockable:
        """Return a view whose attributes can be patched with :func:`unittest.mock.patch`."""
        return _Mockable(self)


def _group_label(group: str) -> str:
    return os.path.normpath(group) if group.endswith(".py") else group


def _group_matches(table: str, group: str) -> bool:
    if not group:
        return False
    return table == group or (group.endswith(".py") and Path(group).stem == table)


def _print_option(option: _Option, out: TextIO | IO[str]) -> None:
    flag = _normalize(option.name)
    metavar = option.metavar
    if metavar is None and option.type is not bool:
        metavar = option.type.__name__.upper()
    if metavar:
        flag += "=" + metavar
    description = option.help or ""
    # A bool flag that is off unless given needs no "(default False)".
    if (
        option.default is not None
        and option.default not in ("", [])
        and option.default is not False
    ):
        description += f" (default {option.default})"
    lines = textwrap.wrap(description, 44) or [""]
    if len(flag) > 30:
        print(f"  --{flag}", file=out)
        print(f"{'':34} {lines[0]}", file=out)
    else:
        print(f"  --{flag:<30} {lines[0]}", file=out)
    for line in lines[1:]:
        print(f"{'':34} {line}", file=out)


class _Mockable:
    """Attribute access that ``mock.patch.object`` can save and restore (Tornado API)."""

    def __init__(self, parser: OptionParser) -> None:
        self.__dict__["_parser"] = parser
        self.__dict__["_originals"] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._originals:
            self._originals[name] = getattr(self._parser, name)
        setattr(self._parser, name, value)

    def __delattr__(self, name: str) -> None:
        setattr(self._parser, name, self._originals.pop(name))


# ---------------------------------------------------------------------------
# The global options and their module-level shortcuts
# ---------------------------------------------------------------------------

options = OptionParser()
"""The global options: what ``define`` and the other module-level functions act on."""


def define(
    name: str,
    default: Any = None,
    type: type[Any] | None = None,
    help: str | None = None,
    metavar: str | None = None,
    multiple: bool = False,
    group: str | None = None,
    callback: Callable[[Any], None] | None = None,
) -> None:
    """Declare an option on the global ``options``; see :meth:`OptionParser.define`."""
    options.define(
        name,
        default=default,
        type=type,
        help=help,
        metavar=metavar,
        multiple=multiple,
        group=group,
        callback=callback,
    )


def parse_command_line(args: list[str] | None = None, final: bool = True) -> list[str]:
    """Parse the global options from ``args`` (``sys.argv`` by default)."""
    return options.parse_command_line(args, final=final)


def parse_config_file(path: str | os.PathLike[str], final: bool = True) -> None:
    """Set the global options from a Python or TOML config file."""
    options.parse_config_file(path, final=final)


def parse_environment(
    prefix: str = "SQUALL_", environ: Mapping[str, str] | None = None, final: bool = True
) -> None:
    """Set the global options from ``{prefix}NAME`` environment variables."""
    options.parse_environment(prefix, environ, final=final)


def parse_all(
    args: list[str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    env_prefix: str | None = "SQUALL_",
    environ: Mapping[str, str] | None = None,
    config_option: str | None = None,
) -> list[str]:
    """Config file, then environment, then command line, into the global options."""
    return options.parse_all(args, config_file, env_prefix, environ, config_option)


def print_help(file: TextIO | IO[str] | None = None) -> None:
    """Print help for the global options (to stdout by default)."""
    options.print_help(file)


def add_parse_callback(callback: Callable[[], None]) -> None:
    """Call ``callback`` after the global options' final parse."""
    options.add_parse_callback(callback)


def _define_logging_options() -> None:
    from squall.log import define_logging_options

    define_logging_options(options)


_define_logging_options()
