"""permessage-deflate (RFC 7692) options in Tornado's shape, mapped onto websockets' factories.

``get_compression_options()`` / ``compression_options`` return None (no
compression) or a dict: ``{}`` for defaults, or ``compression_level`` (0-9)
and ``mem_level`` (1-9), passed to zlib for the messages we send.
"""

from __future__ import annotations

from typing import Any

from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

_KNOWN = frozenset(("compression_level", "mem_level"))


def _compress_settings(options: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise TypeError(f"compression options must be a dict or None, got {options!r}")
    unknown = set(options) - _KNOWN
    if unknown:
        raise ValueError(
            f"unknown compression options {sorted(unknown)}; known: {sorted(_KNOWN)}"
        )
    settings: dict[str, Any] = {}
    level = options.get("compression_level")
    if level is not None:
        if not isinstance(level, int) or not -1 <= level <= 9:
            raise ValueError(f"compression_level must be an int in -1..9, got {level!r}")
        settings["level"] = level
    mem_level = options.get("mem_level")
    if mem_level is not None:
        if not isinstance(mem_level, int) or not 1 <= mem_level <= 9:
            raise ValueError(f"mem_level must be an int in 1..9, got {mem_level!r}")
        settings["memLevel"] = mem_level
    return settings


def server_extensions(options: dict[str, Any] | None) -> list[ServerPerMessageDeflateFactory]:
    """The extensions a server offers for ``options`` (none when None)."""
    if options is None:
        return []
    return [ServerPerMessageDeflateFactory(compress_settings=_compress_settings(options))]


def client_extensions(options: dict[str, Any] | None) -> list[ClientPerMessageDeflateFactory]:
    """The extensions a client proposes for ``options`` (none when None)."""
    if options is None:
        return []
    return [ClientPerMessageDeflateFactory(compress_settings=_compress_settings(options))]
