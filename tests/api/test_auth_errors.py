"""Authentication (session, token), the `create-api-token` command, and the one JSON error body for
every 4xx: 401/403, 404, 405, 400 (bad JSON), 415."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import URLPattern, get_resolver
from rest_framework.authtoken.models import Token

from gwanje.registry.models import Camera, Site
from tests.api.conftest import API, assert_error

pytestmark = pytest.mark.django_db

CAMERAS = f"{API}/cameras/"


def _api_paths() -> list[str]:
    """Every concrete GET path under /api/v1/ (ids replaced by an existing camera/site id)."""
    resolver = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    out = []
    for p in resolver.url_patterns:
        assert isinstance(p, URLPattern)
        path = str(p.pattern).lstrip("^").rstrip("$")
        path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path)
        path = path.replace("\\.", ".").replace("/?", "/")
        if "<" in path or "(" in path or "format" in path:
            continue
        out.append(f"{API}/{path}")
    return sorted(set(out))


def test_anonymous_gets_json_401_everywhere(seongdong):
    c = Client()
    paths = _api_paths()
    assert f"{API}/cameras/nearest/" in paths and f"{API}/layers/dongs/" in paths
    for path in paths:
        if path.endswith("/docs/"):
            r = c.get(path)
            assert r.status_code == 302 and "/login/" in r["Location"]
            continue
        for method in ("get", "post", "delete"):
            r = getattr(c, method)(path)
            errs = assert_error(r, 401)
            assert errs[0]["code"] == "not_authenticated", (path, method, errs)
            assert r["WWW-Authenticate"].startswith("Token"), path


def _token(username: str, *args: str) -> str:
    out = io.StringIO()
    call_command("create-api-token", username, *args, stdout=out)
    return out.getvalue().strip()


def test_token_command_and_token_auth(parks_manager, seongdong):
    """Tokens are for integration accounts (no role requiring a second factor, see
    tests/accounts/test_tokens.py): a department manager's integration here."""
    key = _token(parks_manager.username)
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    assert _token(parks_manager.username) == key  # same token when it exists
    c = Client(headers={"authorization": f"Token {key}"})
    body = c.get(CAMERAS).json()
    assert body["count"] == 43
    # a token client writes without CSRF
    cam_id = body["results"][0]["id"]
    r = c.patch(f"{CAMERAS}{cam_id}/", json.dumps({"notes": "token"}), content_type="application/json")
    assert r.status_code == 200, r.content
    new = _token(parks_manager.username, "--rotate")
    assert new != key and Token.objects.filter(user=parks_manager).count() == 1
    assert_error(c.get(CAMERAS), 401)  # the old key no longer works
    assert Client(headers={"authorization": f"Token {new}"}).get(CAMERAS).status_code == 200


def test_token_command_errors(it_admin):
    with pytest.raises(CommandError):
        _token("nobody-by-that-name")
    it_admin.is_active = False
    it_admin.save()
    with pytest.raises(CommandError):
        _token(it_admin.username)


def test_bad_or_disabled_tokens_are_refused(agent, seongdong):
    errs = assert_error(Client(headers={"authorization": "Token not-a-token"}).get(CAMERAS), 401)
    assert errs[0]["code"] == "authentication_failed"
    key = _token(agent.username)
    agent.is_active = False
    agent.save()
    assert_error(Client(headers={"authorization": f"Token {key}"}).get(CAMERAS), 401)


def test_token_scoping_follows_roles(parks_manager, seongdong):
    c = Client(headers={"authorization": f"Token {_token(parks_manager.username)}"})
    assert c.get(CAMERAS).json()["count"] == 43


def test_session_writes_need_csrf(agent, it_admin):
    c = Client(enforce_csrf_checks=True)
    c.force_login(it_admin)
    cam = Camera.objects.first()
    r = c.patch(f"{CAMERAS}{cam.pk}/", json.dumps({"notes": "x"}), content_type="application/json")
    errs = assert_error(r, 403)
    assert "CSRF" in errs[0]["message"]


def test_role_without_the_action_is_403(client_for, make_user, seongdong):
    from gwanje.accounts import services
    from gwanje.accounts.models import Organisation

    nobody = services.create_user(username="norole-api", organisation=Organisation.objects.first(), roles=[])
    c = client_for(nobody)
    for path in (CAMERAS, f"{API}/sites/", f"{API}/layers/dongs/", f"{API}/organisations/"):
        errs = assert_error(c.get(path), 403)
        assert errs[0]["code"] == "permission_denied"


def test_404s_are_json(api, seongdong):
    for path in (f"{CAMERAS}999999/", f"{CAMERAS}abc/", f"{CAMERAS}{10**30}/", f"{API}/nope/", f"{API}/",
                 f"{API}/sites/0/", f"{API}/layers/nope/", f"{CAMERAS}1/nearest/"):  # fmt: skip
        assert_error(api.get(path), 404)


def test_405_is_json(api, admin_api, seongdong):
    assert_error(admin_api.delete(CAMERAS), 405)
    assert_error(admin_api.post(f"{CAMERAS}nearest/?lat=37.5&lon=127"), 405)
    assert_error(admin_api.put(f"{API}/layers/dongs/"), 405)
    assert_error(admin_api.post(f"{API}/organisations/"), 405)
    assert_error(api.post(f"{API}/schema/"), 405)


def test_400_and_415_for_bad_bodies(admin_api, seongdong):
    site = Site.objects.get(code="SD-A001")
    errs = assert_error(admin_api.post(CAMERAS, "{not json", content_type="application/json"), 400)
    assert errs[0]["code"] == "parse_error"
    assert_error(admin_api.post(CAMERAS, b"\xff\xfe\x00", content_type="application/json"), 400)
    assert_error(admin_api.post(CAMERAS, "[1, 2]", content_type="application/json"), 400)
    assert_error(admin_api.post(CAMERAS, "null", content_type="application/json"), 400)
    assert_error(admin_api.post(CAMERAS, "12", content_type="application/json"), 400)
    assert_error(admin_api.post(CAMERAS, '{"site": NaN}', content_type="application/json"), 400)
    deep = "[" * 5000 + "]" * 5000
    assert_error(admin_api.post(CAMERAS, deep, content_type="application/json"), 400)
    errs = assert_error(admin_api.post(CAMERAS, f"site={site.pk}", content_type="text/plain"), 415)
    assert errs[0]["code"] == "unsupported_media_type"
    assert_error(admin_api.post(CAMERAS, {"site": site.pk}), 415)  # multipart form
    r = admin_api.patch(f"{CAMERAS}{Camera.objects.first().pk}/", "garbage", content_type="application/xml")
    assert_error(r, 415)


def test_errors_are_translated(agent, client_for):
    c = client_for(agent)
    en = c.get(f"{CAMERAS}nearest/", {"lon": 127.04}, headers={"accept-language": "en"})
    ko = c.get(f"{CAMERAS}nearest/", {"lon": 127.04}, headers={"accept-language": "ko"})
    assert en.json()["errors"][0]["field"] == ko.json()["errors"][0]["field"] == "lat"
    assert en.json()["errors"][0]["message"] == "This field is required."
    assert ko.json()["errors"][0]["message"] != "This field is required."
