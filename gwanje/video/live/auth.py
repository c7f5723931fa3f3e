"""Who may open a live socket: the page rules, applied to a WebSocket handshake (sync code; the
ASGI handler calls it through `sync_to_async`).

A socket is opened with the browser's session cookie. It is accepted only for a session that a page
would accept too — signed in, not past its absolute or idle timeout, from an allowed network, with
the second factor given where the account needs one, the password not expired — and then only when
the choke point (`require_video(user, "video.live", camera)`) allows it; that call writes the
access-log record, allowed or denied (police: only under a live incident grant).

While the socket is open, `still_allowed()` re-decides every few seconds without writing a record:
a grant that expires or is revoked, a role taken away, a logout or a password change (the session
is gone) or the absolute session timeout close it. Watching does not count as activity for the idle
timeout, and the idle timeout does not cut a view that is already open.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections, connection
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from gwanje.accounts import security
from gwanje.accounts.passwords import password_expired
from gwanje.audit.services import client_ip
from gwanje.core import access
from gwanje.core.permissions import requires_mfa

# Close codes of the live socket (4000-4999 are the application's). The player shows a message per code.
NOT_SIGNED_IN = 4401  # no session, second factor missing, session ended
FORBIDDEN = 4403  # the choke point refused (role, scope, no grant), or a grant ran out
NOT_FOUND = 4404  # no such camera, or it has no stream URL to relay
BAD_STREAM = 4422  # the camera's stream URL is not an RTSP URL (a registry error)


@dataclass(frozen=True)
class Outcome:
    code: int = 0  # 0: allowed
    reason: str = ""
    user: object | None = None
    camera: object | None = None
    url: str = ""
    session_key: str = ""

    @property
    def allowed(self) -> bool:
        return self.code == 0


def _fresh_connection() -> None:
    """What Django does at each request's start and end (close broken or aged connections), except
    inside a transaction (a test's), which must be left alone."""
    if not connection.in_atomic_block:
        close_old_connections()


def request_from_scope(scope: dict) -> HttpRequest:
    """A plain HttpRequest carrying what the session, the IP allow-list and the access log read."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name == "cookie":
            cookies.append(value)
        else:
            headers[name] = value
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = scope.get("path", "")
    client = scope.get("client") or ("", 0)
    request.META = {
        "REMOTE_ADDR": client[0] or "",
        "HTTP_HOST": headers.get("host", ""),
        "HTTP_USER_AGENT": headers.get("user-agent", ""),
        "HTTP_ORIGIN": headers.get("origin", ""),
        "HTTP_COOKIE": "; ".join(cookies),
        "PATH_INFO": request.path,
    }
    if "x-forwarded-for" in headers:
        request.META["HTTP_X_FORWARDED_FOR"] = headers["x-forwarded-for"]
    request.COOKIES = parse_cookie(request.META["HTTP_COOKIE"])
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    return request


def _signed_in_user(request: HttpRequest, *, idle_counts: bool) -> tuple[object | None, str]:
    """(user, "") for a session a page would accept; (None, why) otherwise."""
    from gwanje.accounts.middleware import OTPMiddleware

    user = auth.get_user(request)  # AnonymousUser for no, a stale or a logged-out session
    if not user.is_authenticated:
        return None, "not signed in"
    expired = security.session_expiry(request.session)
    if expired == "absolute" or (expired and idle_counts):
        return None, f"session ended ({expired})"
    if not security.ip_allowed(user, client_ip(request)):
        return None, "network not allowed"
    user = OTPMiddleware(lambda r: None)._verify_user_sync(request, user)  # sets user.is_verified
    if requires_mfa(user) and not user.is_verified():
        return None, "second factor missing"
    if password_expired(user):
        return None, "password expired"
    return user, ""


def _camera(camera_id: int):
    from gwanje.registry.models import Camera

    return Camera.objects.select_related("site").filter(pk=camera_id).first()


def stream_url(camera, stream: str) -> str:
    """The URL to relay: the asked-for stream, else the camera's other one."""
    main, sub = camera.main_stream_url or "", camera.sub_stream_url or ""
    return (sub or main) if stream == "sub" else (main or sub)


def authorize(scope: dict, camera_id: int, stream: str) -> Outcome:
    """Decide a new live socket; writes the access-log record when a camera is asked for."""
    from gwanje.video.live.command import BadStreamURL, check_url

    _fresh_connection()
    try:
        request = request_from_scope(scope)
        user, why = _signed_in_user(request, idle_counts=True)
        if user is None:
            return Outcome(NOT_SIGNED_IN, why)
        camera = _camera(camera_id)
        if camera is None:
            return Outcome(NOT_FOUND, "no such camera")
        try:
            access.require_video(user, "video.live", camera, request=request)
        except PermissionDenied:
            return Outcome(FORBIDDEN, "not allowed to watch this camera")
        url = stream_url(camera, stream)
        if not url:
            return Outcome(NOT_FOUND, "the camera has no stream URL")
        try:
            check_url(url)
        except BadStreamURL:
            return Outcome(BAD_STREAM, "the camera's stream URL is not an RTSP URL")
        return Outcome(user=user, camera=camera, url=url, session_key=request.session.session_key or "")
    finally:
        _fresh_connection()


def still_allowed(scope: dict, camera_id: int) -> Outcome:
    """Re-decide an open socket (no access-log record)."""
    _fresh_connection()
    try:
        request = request_from_scope(scope)
        user, why = _signed_in_user(request, idle_counts=False)
        if user is None:
            return Outcome(NOT_SIGNED_IN, why)
        camera = _camera(camera_id)
        if camera is None:
            return Outcome(NOT_FOUND, "no such camera")
        if not access.video_decision(user, "video.live", camera).allowed:
            return Outcome(FORBIDDEN, "no longer allowed to watch this camera")
        return Outcome(user=user, camera=camera)
    finally:
        _fresh_connection()
