"""squall's loggers and a readable default log format.

``access_log`` (``squall.access``) gets one line per request in Tornado's
format (``200 GET /path (127.0.0.1) 1.23ms``); ``app_log`` (``squall.application``)
gets uncaught exceptions from handlers; ``gen_log`` (``squall.general``) the
server's own events.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from typing import Any

access_log = logging.getLogger("squall.access")
app_log = logging.getLogger("squall.application")
gen_log = logging.getLogger("squall.general")

_COLORS = {
    logging.DEBUG: "\033[34m",
    logging.INFO: "\033[32m",
    logging.WARNING: "\033[33m",
    logging.ERROR: "\033[31m",
    logging.CRITICAL: "\033[31m",
}


class LogFormatter(logging.Formatter):
    """``[I 261126 12:00:00 module:42] message``, coloured on a terminal."""

    def __init__(self, color: bool = True, datefmt: str = "%y%m%d %H:%M:%S") -> None:
        super().__init__(datefmt=datefmt)
        self._color = color and sys.stderr.isatty()

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        prefix = (f"[{record.levelname[0]} {self.formatTime(record, self.datefmt)} "
                  f"{record.module}:{record.lineno}]")
        if self._color:
            prefix = _COLORS.get(record.levelno, "") + prefix + "\033[0m"
        text = f"{prefix} {message}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text = text.rstrip() + "\n" + record.exc_text
        return text.replace("\n", "\n    ")


def enable_pretty_logging(
    options: Any = None, logger: logging.Logger | None = None, level: str | int = "info"
) -> None:
    """Send squall's logs to stderr (or ``options.log_file_prefix``) in LogFormatter style.

    ``options`` may be ``squall.options.options`` with ``logging``,
    ``log_file_prefix`` and ``log_to_stderr`` defined; without it, INFO to stderr.
    """
    if options is not None:
        level = getattr(options, "logging", level) or level
        if str(level).lower() == "none":
            return
    logger = logger or logging.getLogger()
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    prefix = getattr(options, "log_file_prefix", None) if options is not None else None
    if prefix:
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            prefix,
            maxBytes=getattr(options, "log_file_max_size", 100 * 1000 * 1000),
            backupCount=getattr(options, "log_file_num_backups", 10),
            encoding="utf-8",
        )
        handler.setFormatter(LogFormatter(color=False))
        logger.addHandler(handler)
    to_stderr = getattr(options, "log_to_stderr", None) if options is not None else None
    if to_stderr or (to_stderr is None and not logger.handlers):
        stream = logging.StreamHandler()
        stream.setFormatter(LogFormatter())
        logger.addHandler(stream)


def define_logging_options(options: Any = None) -> None:
    """Define Tornado's logging options (``--logging``, ``--log-file-prefix``, ...).

    The global ``squall.options.options`` gets them at import, as in Tornado,
    so ``parse_command_line()`` configures logging by itself.
    """
    if options is None:
        from squall.options import options as global_options

        options = global_options
    options.define("logging", default="info", group="logging",
                   help="Set the Python log level. If 'none', squall won't touch the logging "
                        "configuration.", metavar="debug|info|warning|error|none")
    options.define("log_to_stderr", type=bool, default=None, group="logging",
                   help="Send log output to stderr (colorized if possible). By default use "
                        "stderr if --log_file_prefix is not set and no other logging is configured.")
    options.define("log_file_prefix", type=str, default=None, metavar="PATH", group="logging",
                   help="Path prefix for log files. Note that if you are running multiple "
                        "squall processes, log_file_prefix must be different for each of them")
    options.define("log_file_max_size", type=int, default=100 * 1000 * 1000, group="logging",
                   help="max size of log files before rollover")
    options.define("log_file_num_backups", type=int, default=10, group="logging",
                   help="number of log files to keep")
    options.add_parse_callback(lambda: enable_pretty_logging(options))
