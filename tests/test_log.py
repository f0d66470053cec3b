"""squall.log: Tornado's logging options and formatter."""

from __future__ import annotations

import logging
from pathlib import Path

from squall.log import LogFormatter, define_logging_options
from squall.options import OptionParser


def test_logging_options_configure_a_log_file_on_parse(tmp_path: Path) -> None:
    parser = OptionParser()
    define_logging_options(parser)
    logger = logging.getLogger("squall-test-log-file")
    log_file = tmp_path / "app.log"
    try:
        parser.parse_command_line(["prog", "--logging=warning", f"--log-file-prefix={log_file}"],
                                  final=False)
        from squall.log import enable_pretty_logging

        enable_pretty_logging(parser, logger=logger)
        logger.warning("written %d", 1)
        logger.info("filtered out")
        for handler in logger.handlers:
            handler.flush()
        text = log_file.read_text()
        assert "written 1" in text and "filtered out" not in text
        assert text.startswith("[W ")
    finally:
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)


def test_logging_none_leaves_logging_untouched() -> None:
    parser = OptionParser()
    define_logging_options(parser)
    parser.parse_command_line(["prog", "--logging=none"], final=False)
    logger = logging.getLogger("squall-test-untouched")
    from squall.log import enable_pretty_logging

    enable_pretty_logging(parser, logger=logger)
    assert logger.handlers == []


def test_formatter_indents_tracebacks_under_the_message() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    text = LogFormatter(color=False).format(record)
    assert text.startswith("[E ") and "failed\n    Traceback" in text
