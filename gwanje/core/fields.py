"""A text field encrypted at rest (Fernet), used for stream URLs that carry credentials."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    # Development fallback: a key derived from SECRET_KEY (rejected by `check --deploy`).
    derived = base64.urlsafe_b64encode(hashlib.sha256(("gwanje-field:" + secret).encode()).digest())
    return MultiFernet([Fernet(derived)])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("encrypted value cannot be decrypted with the configured keys") from exc


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plain text. Not searchable by design."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)


_SECRET_QUERY = re.compile(r"(?i)((?:password|passwd|pwd|pass|token|key|secret|auth)=)[^&]*")


def redact_url(url: str | None) -> str:
    """A stream URL fit to show: the password (and secret query values) replaced by ***."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = _SECRET_QUERY.sub(r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
