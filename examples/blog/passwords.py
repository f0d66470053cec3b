"""Salted scrypt password hashes, stored as one self-describing string.

``scrypt$N$r$p$salt$hash`` (hex salt and hash) keeps the cost parameters with
each hash, so raising them later does not lock out existing authors.
Hashing costs tens of milliseconds of CPU on purpose: handlers call the
``async`` versions, which run it in a worker thread instead of the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # ~16 MiB and ~50 ms per hash: the usual interactive-login cost
SALT_BYTES = 16
KEY_BYTES = 32


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=2 * 128 * n * r + 1024 * 1024, dklen=KEY_BYTES)


def hash_password(password: str) -> str:
    """A new salted hash of ``password``."""
    if not password:
        raise ValueError("password must not be empty")
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, N, R, P)
    return f"{SCHEME}${N}${R}${P}${salt.hex()}${key.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; False for a missing or unreadable hash.

    A missing hash (no such author, or one without a password) still costs one
    derivation, so a wrong name takes as long to refuse as a wrong password and
    the login form does not reveal which names exist.
    """
    if stored is None:
        _derive(password, b"\0" * SALT_BYTES, N, R, P)
        return False
    try:
        scheme, n, r, p, salt_hex, key_hex = stored.split("$")
        if scheme != SCHEME:
            return False
        key = _derive(password, bytes.fromhex(salt_hex), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(key, bytes.fromhex(key_hex))


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def check_password_async(password: str, stored: str | None) -> bool:
    return await asyncio.to_thread(check_password, password, stored)
