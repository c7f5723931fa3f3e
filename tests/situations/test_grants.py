"""Incident-bound video access (agreement Art. 9⑤): police see video only through a live grant of
an open incident; every decision is in the access log, every grant change in the history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from pyproj import Geod

from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog, PermissionChange
from gwanje.core import access
from gwanje.registry.models import Camera
from gwanje.situations import services
from gwanje.situations.choices import GrantState
from gwanje.situations.models import VideoGrant

pytestmark = pytest.mark.django_db
GEOD = Geod(ellps="WGS84")
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def incident(agent):
    camera = Camera.objects.order_by("pk").first()
    lon, lat = camera.point.coords
    return services.open_incident(user=agent, title="비상벨 호출", lon=lon, lat=lat)


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.SUPERVISOR)


def _grant(user, incident, **kw):
    return services.create_grant(
        user=user, incident=incident, reason=kw.pop("reason", "112 신고 현장 확인"), **kw
    )


def _far_camera(incident, metres=2000):
    lon, lat = incident.point.coords
    for cam in Camera.objects.all():
        if GEOD.inv(lon, lat, *cam.point.coords)[2] > metres:
            return cam
    raise AssertionError("no far camera")


def test_incident_numbers_are_per_year_and_gapless(agent):
    a = services.open_incident(user=agent, title="A", lon=127.04, lat=37.55)
    b = services.open_incident(user=agent, title="B", lon=127.04, lat=37.55)
    year = timezone.localdate().year
    assert a.number.startswith(f"{year}-") and int(b.number[5:]) == int(a.number[5:]) + 1


def test_a_grant_covers_exactly_the_cameras_within_its_radius(police_officer, incident):
    grant = _grant(police_officer, incident, radius_m=300)
    lon, lat = incident.point.coords
    inside = {c.pk for c in Camera.objects.all() if GEOD.inv(lon, lat, *c.point.coords)[2] <= 300}
    assert set(grant.cameras.values_list("pk", flat=True)) == inside and inside
    assert grant.expires_at - grant.created_at == dt.timedelta(hours=2)
    log = AccessLog.objects.get(action="grant")
    assert log.username == police_officer.username and f"grant:{grant.pk}" in log.subject
    assert log.reason == "112 신고 현장 확인" and "제9조" in log.legal_basis
    change = PermissionChange.objects.get(action="grant_created")
    assert change.subject_username == police_officer.username and change.target == f"grant:{grant.pk}"


def test_police_without_a_grant_are_refused_and_the_refusal_is_logged(police_officer, incident):
    camera = Camera.objects.order_by("pk").first()
    decision = access.authorize_video(police_officer, "video.live", camera)
    assert not decision.allowed and decision.reason == "no_grant"
    now = timezone.now()
    with pytest.raises(PermissionDenied):
        access.require_video(police_officer, "video.playback", camera, start=now - HOUR, end=now)
    records = list(
        AccessLog.objects.filter(username=police_officer.username).values_list("result", "subject_type")
    )
    assert records == [("denied", "camera"), ("denied", "camera")]


def test_police_with_a_grant_see_its_cameras_only(police_officer, incident):
    grant = _grant(police_officer, incident)
    inside = grant.cameras.first()
    decision = access.authorize_video(police_officer, "video.live", inside)
    assert decision.allowed and decision.grant.pk == grant.pk
    assert not access.video_decision(police_officer, "video.live", _far_camera(incident)).allowed
    log = AccessLog.objects.filter(subject_type="camera").latest("seq")
    assert log.result == "allowed" and f"grant:{grant.pk}" in log.legal_basis


def test_playback_must_lie_within_the_grant_window(police_officer, incident):
    grant = _grant(police_officer, incident)
    camera = grant.cameras.first()
    ok = access.video_decision(
        police_officer, "video.playback", camera, start=grant.window_start, end=grant.window_end
    )
    early = access.video_decision(
        police_officer,
        "video.playback",
        camera,
        start=grant.window_start - dt.timedelta(minutes=1),
        end=grant.window_end,
    )
    assert ok.allowed and not early.allowed


def test_expiry_revocation_and_closing_the_incident_cut_access_at_once(
    police_officer, supervisor, agent, incident
):
    grant = _grant(police_officer, incident)
    camera = grant.cameras.first()
    assert access.video_decision(police_officer, "video.live", camera).allowed

    VideoGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert not access.video_decision(police_officer, "video.live", camera).allowed

    second = _grant(police_officer, incident)
    services.revoke_grant(actor=supervisor, grant=second, reason="목적 외")
    assert not access.video_decision(police_officer, "video.live", camera).allowed
    assert PermissionChange.objects.filter(action="grant_revoked", target=f"grant:{second.pk}").exists()

    third = _grant(police_officer, incident)
    assert access.video_decision(police_officer, "video.live", camera).allowed
    services.close_incident(user=agent, incident=incident)
    third.refresh_from_db()
    assert third.state() == GrantState.INCIDENT_CLOSED
    assert not access.video_decision(police_officer, "video.live", camera).allowed
    assert PermissionChange.objects.filter(action="grant_expired", target=f"grant:{third.pk}").exists()
    with pytest.raises(ValidationError):
        _grant(police_officer, incident)


def test_district_roles_need_no_grant_and_others_have_no_video(agent, parks_manager, make_user):
    camera = Camera.objects.order_by("pk").first()
    assert access.video_decision(agent, "video.live", camera).reason == "role"
    now = timezone.now()
    assert not access.video_decision(
        agent, "video.export", camera, start=now - HOUR, end=now
    ).allowed  # no export
    with pytest.raises(ValueError):  # recorded video is always decided for a period
        access.video_decision(agent, "video.playback", camera)
    assert not access.video_decision(parks_manager, "video.live", camera).allowed
    assert not access.video_decision(make_user(Role.CONTRACTOR), "video.live", camera).allowed


def test_one_active_grant_per_user_and_incident(police_officer, incident):
    first = _grant(police_officer, incident)
    with pytest.raises(ValidationError) as err:
        _grant(police_officer, incident, radius_m=1000)
    assert "incident" in err.value.message_dict
    services.revoke_grant(actor=police_officer, grant=first)
    assert _grant(police_officer, incident, radius_m=1000).radius_m == 1000


def test_grant_requests_are_validated(police_officer, agent, incident):
    with pytest.raises(ValidationError) as err:
        _grant(police_officer, incident, reason="확인", radius_m=10, hours=9)
    assert set(err.value.message_dict) == {"reason", "radius_m", "hours"}
    with pytest.raises(PermissionDenied):
        _grant(agent, incident)  # a monitoring agent does not request grants


def test_only_the_holder_or_a_supervisor_revokes(police_officer, make_user, supervisor, incident):
    grant = _grant(police_officer, incident)
    other = make_user(Role.POLICE_112)
    with pytest.raises(PermissionDenied):
        services.revoke_grant(actor=other, grant=grant)
    services.revoke_grant(actor=police_officer, grant=grant)
    with pytest.raises(ValidationError):
        services.revoke_grant(actor=supervisor, grant=grant)  # already ended


# --- pages and API -------------------------------------------------------------------------------


def test_police_request_a_grant_on_the_incident_page_and_supervisors_see_it(
    client_for, police_officer, supervisor, agent, incident
):
    page = client_for(police_officer).post(
        f"/situations/incidents/{incident.pk}/",
        {"reason": "납치 의심 신고 대응", "radius_m": 500, "hours": 1},
    )
    assert page.status_code == 302
    grant = VideoGrant.objects.get(user=police_officer)
    board = client_for(supervisor).get("/situations/grants/")
    assert board.status_code == 200 and f'data-grant="{grant.pk}"' in board.content.decode()
    fragment = client_for(supervisor).get("/situations/grants/", HTTP_HX_REQUEST="true")
    assert (
        "<html" not in fragment.content.decode() and f'data-grant="{grant.pk}"' in fragment.content.decode()
    )
    assert client_for(agent).get("/situations/grants/").status_code == 403


def test_a_short_reason_is_shown_back_on_the_form(client_for, police_officer, incident):
    page = client_for(police_officer).post(
        f"/situations/incidents/{incident.pk}/", {"reason": "x", "radius_m": 500, "hours": 1}
    )
    assert page.status_code == 200 and not VideoGrant.objects.exists()
    assert page.context["form"].errors["reason"]


def test_someone_elses_grant_is_not_found_and_the_attempt_is_logged(
    client_for, police_officer, make_user, incident
):
    grant = _grant(police_officer, incident)
    other = make_user(Role.POLICE_112)
    assert client_for(other).post(f"/situations/grants/{grant.pk}/revoke/").status_code == 404
    api = client_for(other).post(f"/api/v1/grants/{grant.pk}/revoke/", {}, content_type="application/json")
    assert api.status_code == 404 and api.json()["errors"]
    denied = AccessLog.objects.filter(
        username=other.username, result="denied", subject=f"videogrant:{grant.pk}"
    )
    assert denied.count() == 2
    assert VideoGrant.objects.get(pk=grant.pk).state() == GrantState.ACTIVE


def test_grants_api(client_for, police_officer, supervisor, agent, incident):
    police = client_for(police_officer)
    bad = police.post(
        "/api/v1/grants/", {"incident": incident.pk, "reason": ""}, content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "reason"
    made = police.post(
        "/api/v1/grants/",
        {"incident": incident.pk, "reason": "도주 차량 추적", "radius_m": 400},
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["state"] == "active" and made.json()["cameras"]
    assert client_for(agent).post("/api/v1/grants/", {"incident": incident.pk, "reason": "도주 차량 추적"},
                                  content_type="application/json").status_code == 403  # fmt: skip
    assert [g["id"] for g in client_for(supervisor).get("/api/v1/grants/").json()["results"]] == [
        made.json()["id"]
    ]
    revoked = client_for(supervisor).post(f"/api/v1/grants/{made.json()['id']}/revoke/", {"reason": "종료"},
                                          content_type="application/json")  # fmt: skip
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"


def test_incidents_api(client_for, agent, police_officer):
    made = client_for(agent).post(
        "/api/v1/incidents/", {"title": "SOS", "lat": 37.55, "lon": 127.04}, content_type="application/json"
    )
    assert made.status_code == 201 and made.json()["status"] == "new"
    assert client_for(police_officer).post("/api/v1/incidents/", {"title": "x", "lat": 37.5, "lon": 127.0},
                                           content_type="application/json").status_code == 403  # fmt: skip
    outside = client_for(agent).post(
        "/api/v1/incidents/", {"title": "x", "lat": 10, "lon": 127.0}, content_type="application/json"
    )
    assert outside.status_code == 400 and outside.json()["errors"][0]["field"] == "lat"
    closed = client_for(agent).post(f"/api/v1/incidents/{made.json()['id']}/close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = client_for(agent).post(f"/api/v1/incidents/{made.json()['id']}/close/")
    assert again.status_code == 400
