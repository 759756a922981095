"""Console passwords as scrypt hashes (``hashlib.scrypt``, RFC 7914): ``scrypt$N$r$p$salt$hash``, base64.

The parameters travel in the hash, so raising them later leaves old hashes valid. N=2**15, r=8 costs 32 MiB and
tens of milliseconds a check: cheap for one person signing in, dear for a guesser (the console also limits how
many sign-ins an address or a name may fail).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

N, R, P = 2**15, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
MAXMEM = 128 * 1024 * 1024
#: checked when the name is unknown, so an unknown name costs as long as a wrong password
_DUMMY = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    salt = os.urandom(SALT_BYTES)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=MAXMEM, dklen=HASH_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; a missing or malformed hash is checked against a dummy one, so
    the answer takes as long either way, and is False."""
    global _DUMMY
    parts = (stored or "").split("$")
    try:
        name, n, r, p, salt, expected = parts
        if name != "scrypt":
            raise ValueError(name)
        n, r, p = int(n), int(r), int(p)
        salt, expected = _unb64(salt), _unb64(expected)
        if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16 and expected):
            raise ValueError("parameters out of range")
    except (ValueError, TypeError):
        if _DUMMY is None:
            _DUMMY = hash_password("no such user")
        verify_password(password, _DUMMY)
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=MAXMEM, dklen=len(expected))
    return hmac.compare_digest(digest, expected)
