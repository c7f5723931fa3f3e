"""Every route refuses anonymous users (DESIGN rule 2: a test enumerates every URL)."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

PUBLIC = {"/accounts/login/", "/i18n/setlang/", "/jsi18n/", "/admin/login/", "/admin/logout/"}
PUBLIC_PREFIXES = ("/static/",)


def _routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        pattern = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _routes(p, pattern)
        elif isinstance(p, URLPattern):
            yield pattern


def _concrete(pattern: str) -> str:
    path = pattern.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    path = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) in ("int", None) else "x", path)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path)
    path = re.sub(r"\.\*|\?", "", path)
    return "/" + path


def test_every_route_refuses_anonymous(seongdong):
    c = Client()
    checked = 0
    for pattern in _routes():
        url = _concrete(pattern)
        if url in PUBLIC or url.startswith(PUBLIC_PREFIXES) or url.startswith("/admin/"):
            continue
        r = c.get(url)
        assert r.status_code in (301, 302, 401, 403, 404, 405), f"{url} -> {r.status_code}"
        if r.status_code in (301, 302):
            assert "/login/" in r["Location"], url
        checked += 1
    assert checked >= 5
