"""Legal holds: place / release through the choke point (`video.holds`), validation, the access-log
records, and the /video/holds/ pages (through a test URLconf until the routes are merged: this
module is also that URLconf)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import include, path
from django.utils import timezone, translation

from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog
from gwanje.registry.models import Camera
from gwanje.urls import handler400, handler403, handler404, handler500  # noqa: F401
from gwanje.urls import urlpatterns as project_urlpatterns
from gwanje.video import holds
from gwanje.video.models import LegalHold

urlpatterns = [path("video/", include("gwanje.video.urls_holds")), *project_urlpatterns]
pages = pytest.mark.urls(__name__)

SEOUL = ZoneInfo("Asia/Seoul")
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def english():
    """Messages are matched in English (the msgids), whatever translations exist."""
    with translation.override("en"):
        yield


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.SUPERVISOR)


@pytest.fixture
def camera(seongdong):
    return Camera.objects.select_related("site").order_by("pk").first()


@pytest.fixture
def period():
    now = timezone.now().replace(microsecond=0)
    return now - 3 * HOUR, now - 2 * HOUR


def last_log() -> AccessLog:
    return AccessLog.objects.order_by("-seq").first()


def test_place_and_release_write_the_access_log(supervisor, camera, period):
    start, end = period
    hold = holds.place_hold(
        supervisor,
        camera,
        start,
        end,
        "  폭행 사건\n수사 자료  ",
        case_number="2026-1234",
        expires_at=end + 48 * HOUR,
    )
    assert (hold.camera, hold.start, hold.end, hold.owner) == (camera, start, end, supervisor)
    assert hold.reason == "폭행 사건 수사 자료" and hold.released_at is None
    record = last_log()
    assert (record.action, record.subject_type, record.result) == ("grant", "legal_hold", "allowed")
    assert record.subject == f"hold:{hold.pk} camera:{camera.pk} " + "/".join(
        t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in period
    )
    assert record.reason == "폭행 사건 수사 자료" and record.legal_basis == "case 2026-1234"
    assert record.user_id == supervisor.pk
    assert list(holds.unreleased(camera)) == [hold]

    holds.release_hold(supervisor, hold)
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.released_by == supervisor
    record = last_log()
    assert (record.action, record.subject, record.reason) == (
        "delete",
        holds.hold_subject(hold),
        "legal hold released",
    )
    assert not holds.unreleased(camera).exists()
    with pytest.raises(ValidationError, match="already been released"):
        holds.release_hold(supervisor, hold)


def test_only_video_holds_may_place_or_release(make_user, supervisor, camera, period):
    agent = make_user(Role.MONITORING_AGENT)
    police = make_user(Role.POLICE_INVESTIGATOR)
    for user in (agent, police):
        with pytest.raises(PermissionDenied):
            holds.place_hold(user, camera, *period, "수사 자료 보존")
    hold = holds.place_hold(supervisor, camera, *period, "수사 자료 보존")
    with pytest.raises(PermissionDenied):
        holds.release_hold(agent, hold)
    assert LegalHold.objects.get(pk=hold.pk).released_at is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "start"}, "end"),  # end == start
        ({"swap": True}, "end"),
        ({"reason": "  "}, "reason"),
        ({"reason": "abc"}, "reason"),
        ({"future": True}, "end"),
        ({"naive": True}, "start"),
        ({"expires_past": True}, "expires_at"),
        ({"case_number": "x" * 61}, "case_number"),
        ({"no_camera": True}, "camera"),
    ],
)
def test_bad_input_is_refused_by_field(supervisor, camera, period, change, field):
    start, end = period
    kwargs = {"reason": "수사 자료 보존", "case_number": "", "expires_at": None}
    if change.get("end") == "start":
        end = start
    if change.get("swap"):
        start, end = end, start
    if "reason" in change:
        kwargs["reason"] = change["reason"]
    if change.get("future"):
        end = timezone.now() + HOUR
    if change.get("naive"):
        start = timezone.make_naive(start)
    if change.get("expires_past"):
        kwargs["expires_at"] = timezone.now() - HOUR
    if "case_number" in change:
        kwargs["case_number"] = change["case_number"]
    cam = None if change.get("no_camera") else camera
    count = LegalHold.objects.count()
    with pytest.raises(ValidationError) as e:
        holds.place_hold(supervisor, cam, start, end, **kwargs)
    assert field in e.value.message_dict
    assert LegalHold.objects.count() == count


def test_due_for_review_lists_expired_unreleased_holds(supervisor, camera, period):
    hold = holds.place_hold(supervisor, camera, *period, "수사 자료 보존", expires_at=timezone.now() + HOUR)
    assert not holds.due_for_review().filter(pk=hold.pk).exists()
    assert holds.due_for_review(timezone.now() + 2 * HOUR).filter(pk=hold.pk).exists()


# --- pages ------------------------------------------------------------------------------------------
@pages
def test_the_page_places_a_hold_in_korean_time(client_for, supervisor, camera):
    client = client_for(supervisor)
    response = client.get("/video/holds/")
    assert response.status_code == 200
    assert "보존 조치" in response.text  # Korean by default
    yesterday = (timezone.now().astimezone(SEOUL) - dt.timedelta(days=1)).date()
    form = {
        "camera": camera.pk,
        "start": f"{yesterday}T10:00",
        "end": f"{yesterday}T11:30",
        "reason": "절도 사건 수사 자료 보존",
        "case_number": "2026-77",
        "expires_at": "",
    }
    response = client.post("/video/holds/", form)
    assert response.status_code == 302 and response["Location"] == "/video/holds/"
    hold = LegalHold.objects.get(case_number="2026-77")
    assert hold.start == dt.datetime.combine(yesterday, dt.time(10), SEOUL)
    assert hold.end == dt.datetime.combine(yesterday, dt.time(11, 30), SEOUL)
    assert hold.start.astimezone(dt.UTC).hour == 1  # 10:00 KST = 01:00 UTC
    page = client.get("/video/holds/").text
    assert f'data-hold="{hold.pk}"' in page and "2026-77" in page
    assert f"{yesterday:%Y-%m-%d} 10:00:00" in page  # shown in Korean time


@pages
def test_the_page_shows_errors_not_500(client_for, supervisor, camera):
    client = client_for(supervisor)
    future = (timezone.now().astimezone(SEOUL) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    for data in (
        {"camera": camera.pk, "start": future, "end": future, "reason": "수사 자료 보존"},
        {
            "camera": 99999999,
            "start": "2026-01-01T10:00",
            "end": "2026-01-01T11:00",
            "reason": "수사 자료 보존",
        },
        {"camera": "x", "start": "not a time", "end": "", "reason": ""},
    ):
        response = client.post("/video/holds/", data)
        assert response.status_code == 200
        assert "errorlist" in response.text
    assert not LegalHold.objects.exists()


@pages
def test_release_button(client_for, supervisor, camera, period):
    hold = holds.place_hold(supervisor, camera, *period, "수사 자료 보존")
    client = client_for(supervisor)
    assert client.get(f"/video/holds/{hold.pk}/release/").status_code == 405
    response = client.post(f"/video/holds/{hold.pk}/release/")
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.released_by == supervisor
    assert client.post(f"/video/holds/{hold.pk}/release/").status_code == 302  # already released: a message
    assert client.post("/video/holds/99999999/release/").status_code == 404


@pages
def test_pages_need_video_holds(client_for, make_user, supervisor, camera, period):
    hold = holds.place_hold(supervisor, camera, *period, "수사 자료 보존")
    agent = client_for(make_user(Role.MONITORING_AGENT))
    assert agent.get("/video/holds/").status_code == 403
    assert agent.post(f"/video/holds/{hold.pk}/release/").status_code == 403
    assert LegalHold.objects.get(pk=hold.pk).released_at is None


def test_the_hold_routes_declare_their_action():
    from gwanje.video import urls_holds

    for pattern in urls_holds.urlpatterns:
        assert pattern.callback.permission_actions == {"read": "video.holds", "write": "video.holds"}
