from __future__ import annotations

import datetime
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from squall import options as options_module
from squall.options import Error, OptionParser

PROGRAM = "prog"


@pytest.fixture
def parser() -> OptionParser:
    return OptionParser()


@pytest.fixture
def app_options(parser: OptionParser) -> OptionParser:
    parser.define("port", default=8888, help="listen on this port", group="server")
    parser.define("host", default="127.0.0.1", help="bind address", group="server")
    parser.define("debug", default=False, help="debug mode", group="app")
    parser.define("ratio", default=0.5, group="app")
    return parser


# --- definition and access -----------------------------------------------------


def test_type_is_inferred_from_the_default(parser: OptionParser) -> None:
    parser.define("port", default=80)
    parser.define("name")
    parser.define("when", default=datetime.timedelta(seconds=1))
    assert parser._options["port"].type is int
    assert parser._options["name"].type is str
    assert parser._options["when"].type is datetime.timedelta


def test_options_are_read_as_attributes_and_items(app_options: OptionParser) -> None:
    assert app_options.port == 8888
    assert app_options["port"] == 8888
    assert "port" in app_options
    assert "nope" not in app_options


def test_dash_and_underscore_name_the_same_option(parser: OptionParser) -> None:
    parser.define("log_file_prefix", default="a")
    parser.parse_command_line([PROGRAM, "--log-file-prefix=b"])
    assert parser.log_file_prefix == "b"
    assert parser["log-file-prefix"] == "b"


def test_setting_an_attribute_is_type_checked(app_options: OptionParser) -> None:
    app_options.port = 9000
    assert app_options.port == 9000
    with pytest.raises(Error, match=r"'port'.*'abc'.*expected int"):
        app_options.port = "abc"
    with pytest.raises(Error, match=r"'port'.*True.*expected int"):
        app_options.port = True


def test_an_int_is_accepted_for_a_float_option(app_options: OptionParser) -> None:
    app_options.ratio = 2
    assert app_options.ratio == 2.0
    assert isinstance(app_options.ratio, float)


def test_reading_an_unknown_option_is_an_attribute_error_with_suggestion(
    app_options: OptionParser,
) -> None:
    with pytest.raises(AttributeError, match=r"'prot'.*did you mean --port"):
        _ = app_options.prot
    assert not hasattr(app_options, "missing")
    with pytest.raises(KeyError, match="missing"):
        _ = app_options["missing"]


def test_dict_views(app_options: OptionParser) -> None:
    assert app_options.as_dict() == {
        "help": False,
        "port": 8888,
        "host": "127.0.0.1",
        "debug": False,
        "ratio": 0.5,
    }
    assert app_options.group_dict("server") == {"port": 8888, "host": "127.0.0.1"}
    assert app_options.groups() == {"server", "app", ""}
    assert set(app_options) == {"help", "port", "host", "debug", "ratio"}
    assert dict(app_options.items())["debug"] is False


def test_group_defaults_to_the_defining_file(parser: OptionParser) -> None:
    parser.define("x", default=1)
    assert parser.groups() == {"", __file__}


def test_defining_an_option_twice_names_both_places(parser: OptionParser) -> None:
    parser.define("port", default=1)
    first_line = sys._getframe().f_lineno - 1
    with pytest.raises(Error) as info:
        parser.define("port", default=2)
    second_line = sys._getframe().f_lineno - 1
    message = str(info.value)
    assert f"{__file__}:{first_line}" in message
    assert f"{__file__}:{second_line}" in message
    assert "'port' already defined" in message


def test_callback_is_called_with_each_new_value(parser: OptionParser) -> None:
    seen: list[Any] = []
    parser.define("level", default="info", callback=seen.append)
    parser.parse_command_line([PROGRAM, "--level=debug"])
    parser.level = "warning"
    assert seen == ["debug", "warning"]


# --- command line --------------------------------------------------------------


def test_command_line_sets_typed_values_and_returns_positional_args(
    app_options: OptionParser,
) -> None:
    rest = app_options.parse_command_line(
        [PROGRAM, "--port=9000", "--host", "0.0.0.0", "--debug", "--ratio=1.5", "a.txt", "--x"]
    )
    assert (app_options.port, app_options.host, app_options.debug) == (9000, "0.0.0.0", True)
    assert app_options.ratio == 1.5
    assert rest == ["a.txt", "--x"]


def test_double_dash_ends_option_parsing(app_options: OptionParser) -> None:
    assert app_options.parse_command_line([PROGRAM, "--port=1", "--", "--port=2"]) == ["--port=2"]
    assert app_options.port == 1


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("False", False), ("yes", True), ("off", False), ("1", True), ("0", False)],
)
def test_bool_values_spelled_in_common_ways(
    app_options: OptionParser, text: str, value: bool
) -> None:
    app_options.parse_command_line([PROGRAM, f"--debug={text}"])
    assert app_options.debug is value


def test_unknown_command_line_option_is_an_error_with_suggestion(
    app_options: OptionParser,
) -> None:
    with pytest.raises(Error, match=r"Unrecognized command line option 'prot'.*--port"):
        app_options.parse_command_line([PROGRAM, "--prot=1"])


@pytest.mark.parametrize(
    ("arg", "pattern"),
    [
        ("--port=eighty", r"Option 'port': invalid value 'eighty', expected int"),
        ("--ratio=half", r"Option 'ratio': invalid value 'half', expected float"),
        ("--debug=maybe", r"Option 'debug': invalid value 'maybe', expected bool"),
    ],
)
def test_bad_value_names_option_value_and_type(
    app_options: OptionParser, arg: str, pattern: str
) -> None:
    with pytest.raises(Error, match=pattern):
        app_options.parse_command_line([PROGRAM, arg])


def test_non_bool_option_without_value_is_an_error(app_options: OptionParser) -> None:
    with pytest.raises(Error, match="'port' requires a value"):
        app_options.parse_command_line([PROGRAM, "--port"])
    with pytest.raises(Error, match="'host' requires a value"):
        app_options.parse_command_line([PROGRAM, "--host", "--debug"])


def test_multiple_options_take_comma_separated_lists_and_int_ranges(
    parser: OptionParser,
) -> None:
    parser.define("ports", type=int, multiple=True)
    parser.define("names", multiple=True)
    assert parser.ports == []
    parser.parse_command_line([PROGRAM, "--ports=80,8000:8002", "--names=a, b,c"])
    assert parser.ports == [80, 8000, 8001, 8002]
    assert parser.names == ["a", "b", "c"]
    with pytest.raises(Error, match=r"'ports': invalid value 'x', expected comma-separated list"):
        parser.parse_command_line([PROGRAM, "--ports=1,x"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45", datetime.timedelta(seconds=45)),
        ("500ms", datetime.timedelta(milliseconds=500)),
        ("5m", datetime.timedelta(minutes=5)),
        ("1.5h", datetime.timedelta(hours=1.5)),
        ("1h 30min", datetime.timedelta(hours=1, minutes=30)),
        ("2d3h", datetime.timedelta(days=2, hours=3)),
        ("1w", datetime.timedelta(weeks=1)),
    ],
)
def test_timedelta_values(parser: OptionParser, text: str, expected: datetime.timedelta) -> None:
    parser.define("timeout", type=datetime.timedelta)
    parser.parse_command_line([PROGRAM, f"--timeout={text}"])
    assert parser.timeout == expected


def test_bad_timedelta_names_the_expected_format(parser: OptionParser) -> None:
    parser.define("timeout", type=datetime.timedelta)
    with pytest.raises(Error, match=r"'timeout': invalid value '5 parsecs', expected timedelta"):
        parser.parse_command_line([PROGRAM, "--timeout=5 parsecs"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31", datetime.datetime(2024, 1, 31)),
        ("2024-01-31T12:30", datetime.datetime(2024, 1, 31, 12, 30)),
        ("2024-01-31 12:30:15", datetime.datetime(2024, 1, 31, 12, 30, 15)),
        ("20240131 12:30", datetime.datetime(2024, 1, 31, 12, 30)),
        ("Wed Jan 31 12:30:15 2024", datetime.datetime(2024, 1, 31, 12, 30, 15)),
    ],
)
def test_datetime_values(parser: OptionParser, text: str, expected: datetime.datetime) -> None:
    parser.define("start", type=datetime.datetime)
    parser.parse_command_line([PROGRAM, f"--start={text}"])
    assert parser.start == expected


def test_parse_callbacks_run_only_on_the_final_parse(app_options: OptionParser) -> None:
    calls: list[int] = []
    app_options.add_parse_callback(lambda: calls.append(app_options.port))
    app_options.parse_command_line([PROGRAM, "--port=1"], final=False)
    assert calls == []
    app_options.parse_command_line([PROGRAM, "--port=2"])
    assert calls == [2]


# --- help ------------------------------------------------------------------------


def test_help_prints_options_grouped_and_exits_zero(
    app_options: OptionParser, capsys: pytest.CaptureFixture[str]
) -> None:
    app_options.define("verbose-logging-for-subsystems", default=False, help="x " * 40)
    with pytest.raises(SystemExit) as info:
        app_options.parse_command_line([PROGRAM, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: ")
    # Ungrouped (--help) first, then groups in order, options sorted within each group.
    assert out.index("--help") < out.index("app options:") < out.index("server options:")
    app_section = out[out.index("app options:") : out.index("server options:")]
    assert "--debug" in app_section
    assert "--ratio=FLOAT" in app_section
    server_section = out[out.index("server options:") :]
    assert server_section.index("--host=STR") < server_section.index("--port=INT")
    assert "listen on this port (default 8888)" in server_section
    # Options defined without a group are listed under their defining file.
    assert f"{__file__} options:" in out


def test_print_help_writes_to_the_given_file(app_options: OptionParser) -> None:
    buffer = io.StringIO()
    app_options.print_help(buffer)
    assert "--port=INT" in buffer.getvalue()


# --- config files ------------------------------------------------------------------


def test_python_config_file_sets_matching_top_level_names(
    app_options: OptionParser, tmp_path: Path
) -> None:
    config = tmp_path / "app.conf"
    config.write_text(
        "import os\nport = 9000\nhost = os.path.basename('/x/0.0.0.0')\nunrelated = 1\n"
    )
    app_options.parse_config_file(config)
    assert (app_options.port, app_options.host) == (9000, "0.0.0.0")


def test_python_config_file_type_errors_name_the_file(
    app_options: OptionParser, tmp_path: Path
) -> None:
    config = tmp_path / "app.py"
    config.write_text("port = [1]\n")
    with pytest.raises(Error, match=rf"{config}: Option 'port': invalid value \[1\]"):
        app_options.parse_config_file(config)


def test_toml_config_file_sets_top_level_keys_and_group_tables(
    app_options: OptionParser, tmp_path: Path
) -> None:
    config = tmp_path / "app.toml"
    config.write_text('debug = true\nratio = 2\n\n[server]\nport = 9000\nhost = "0.0.0.0"\n')
    app_options.parse_config_file(config)
    assert app_options.debug is True
    assert app_options.ratio == 2.0
    assert (app_options.port, app_options.host) == (9000, "0.0.0.0")


def test_toml_strings_are_parsed_for_typed_and_multiple_options(
    parser: OptionParser, tmp_path: Path
) -> None:
    parser.define("timeout", type=datetime.timedelta)
    parser.define("ports", type=int, multiple=True)
    parser.define("grace", type=datetime.timedelta)
    config = tmp_path / "app.toml"
    config.write_text('timeout = "1m30s"\nports = "80,443"\ngrace = 5\n')
    parser.parse_config_file(config)
    assert parser.timeout == datetime.timedelta(seconds=90)
    assert parser.ports == [80, 443]
    assert parser.grace == datetime.timedelta(seconds=5)


def test_toml_table_may_be_named_after_the_defining_module(
    parser: OptionParser, tmp_path: Path
) -> None:
    parser.define("workers", default=1)
    config = tmp_path / "app.toml"
    config.write_text("[test_options]\nworkers = 4\n")
    parser.parse_config_file(config)
    assert parser.workers == 4


def test_toml_unknown_key_is_an_error_naming_file_and_key(
    app_options: OptionParser, tmp_path: Path
) -> None:
    config = tmp_path / "app.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(Error, match=rf"{config}: .*'prot'.*did you mean --port"):
        app_options.parse_config_file(config)


def test_toml_option_in_the_wrong_table_is_an_error(
    app_options: OptionParser, tmp_path: Path
) -> None:
    config = tmp_path / "app.toml"
    config.write_text("[app]\nport = 1\n")
    with pytest.raises(Error, match=r"'port' belongs to group 'server', not \[app\]"):
        app_options.parse_config_file(config)
    config.write_text("[nosuch]\nport = 1\n")
    with pytest.raises(Error, match=r"table \[nosuch\] names no option group"):
        app_options.parse_config_file(config)


def test_toml_type_error_names_option_value_and_type(
    app_options: OptionParser, tmp_path: Path
) -> None:
    config = tmp_path / "app.toml"
    config.write_text("[server]\nport = 1.5\n")
    with pytest.raises(Error, match=r"'port': invalid value 1.5 \(float\), expected int"):
        app_options.parse_config_file(config)


def test_invalid_toml_is_an_error_naming_the_file(
    app_options: OptionParser, tmp_path: Path
) -> None:
    config = tmp_path / "app.toml"
    config.write_text("port = \n")
    with pytest.raises(Error, match=rf"{config}: invalid TOML"):
        app_options.parse_config_file(config)


# --- environment and precedence -------------------------------------------------------


def test_environment_overrides_defaults(app_options: OptionParser) -> None:
    app_options.parse_environment(
        environ={"SQUALL_PORT": "9000", "SQUALL_DEBUG": "1", "SQUALL_OTHER": "x", "PORT": "1"}
    )
    assert app_options.port == 9000
    assert app_options.debug is True


def test_environment_prefix_is_configurable(parser: OptionParser) -> None:
    parser.define("log_file_prefix", default="")
    parser.parse_environment(prefix="MYAPP_", environ={"MYAPP_LOG_FILE_PREFIX": "/var/log/x"})
    assert parser.log_file_prefix == "/var/log/x"


def test_bad_environment_value_names_the_variable(app_options: OptionParser) -> None:
    with pytest.raises(Error, match=r"SQUALL_PORT: Option 'port': invalid value 'x'"):
        app_options.parse_environment(environ={"SQUALL_PORT": "x"})


@pytest.fixture
def layered(app_options: OptionParser, tmp_path: Path) -> Iterator[tuple[OptionParser, Path]]:
    config = tmp_path / "app.toml"
    config.write_text('ratio = 1.0\n[server]\nport = 1000\nhost = "config"\n')
    yield app_options, config


def test_parse_all_precedence_is_defaults_config_environment_command_line(
    layered: tuple[OptionParser, Path],
) -> None:
    parser, config = layered
    calls: list[str] = []
    parser.add_parse_callback(lambda: calls.append("done"))
    rest = parser.parse_all(
        [PROGRAM, "--port=3000", "file"],
        config_file=config,
        environ={"SQUALL_PORT": "2000", "SQUALL_HOST": "env"},
    )
    assert rest == ["file"]
    assert parser.debug is False  # default
    assert parser.ratio == 1.0  # config file
    assert parser.host == "env"  # environment beats config file
    assert parser.port == 3000  # command line beats everything
    assert calls == ["done"]


# --- the global options -----------------------------------------------------------------


def test_module_level_functions_act_on_the_global_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = OptionParser()
    monkeypatch.setattr(options_module, "options", fresh)
    options_module.define("global_port", default=1)
    options_module.parse_command_line([PROGRAM, "--global-port=2"])
    assert fresh.global_port == 2
    options_module.parse_environment(environ={"SQUALL_GLOBAL_PORT": "3"})
    assert fresh.global_port == 3
    buffer = io.StringIO()
    options_module.print_help(buffer)
    assert "--global-port=INT" in buffer.getvalue()


def test_mockable_view_restores_values_on_delete(app_options: OptionParser) -> None:
    view = app_options.mockable()
    view.port = 1
    assert app_options.port == 1
    del view.port
    assert app_options.port == 8888


def _config_parser() -> OptionParser:
    parser = OptionParser()
    parser.define("port", default=8000, group="server")
    parser.define("db", default="sqlite:///a.db", group="server")
    parser.define("config", default=None, type=str, group="server")
    return parser


@pytest.mark.parametrize("spelling", [["--config={path}"], ["--config", "{path}"]])
def test_config_option_names_the_file_read_before_everything_else(
    tmp_path: Path, spelling: list[str]
) -> None:
    path = tmp_path / "app.toml"
    path.write_text('port = 9000\ndb = "from-file"\n')
    parser = _config_parser()
    args = ["prog", *(a.format(path=path) for a in spelling), "--port=9100"]
    parser.parse_all(args, config_option="config", environ={})
    assert (parser.port, parser.db, parser.config) == (9100, "from-file", str(path))


def test_config_option_is_also_found_in_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text("db = 'from-env-file'\n")
    parser = _config_parser()
    parser.parse_all(["prog"], config_option="config", environ={"SQUALL_CONFIG": str(path)})
    assert parser.db == "from-env-file"


def test_config_option_without_a_file_name_is_an_error() -> None:
    with pytest.raises(Error, match="--config needs a file name"):
        _config_parser().parse_all(["prog", "--config"], config_option="config", environ={})
