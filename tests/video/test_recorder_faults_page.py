"""The camera-faults page: who may see it, what it lists, its htmx refresh."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from gwanje.accounts.roles import Role
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.video import health
from gwanje.video.choices import AlarmKind, FaultReason
from gwanje.video.models import CameraFault, RecordingGap, VideoAlarm

pytestmark = pytest.mark.django_db
URL = "/video/faults/"


@pytest.fixture
def cameras():
    return list(Camera.objects.exclude(status=CameraStatus.RETIRED).order_by("pk")[:3])


def test_route():
    assert reverse("video:faults") == URL


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.MONITORING_AGENT, 200),
        (Role.CONTRACTOR, 200),
        (Role.IT_ADMIN, 200),
        (Role.POLICE_STATIONED, 403),
        (Role.DEPARTMENT_MANAGER, 403),
    ],
)
def test_permission(make_user, client_for, role, status):
    assert client_for(make_user(role)).get(URL).status_code == status


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_lists_open_faults_first_closed_gaps_and_alarms(make_user, client_for, cameras):
    a, b, c = cameras
    now = timezone.now()
    seoul_since = now - dt.timedelta(minutes=7)
    down = health.camera_down
    down(a.pk, health.Diagnosis(FaultReason.AUTH_FAILURE, "the camera refused the password"), at=seoul_since)
    down(b.pk, health.Diagnosis(FaultReason.STALLED, "no new segment"), at=now)
    down(c.pk, health.Diagnosis(FaultReason.TIMEOUT, "no answer"), at=now - dt.timedelta(hours=1))
    health.camera_up(c.pk, at=now - dt.timedelta(minutes=30))
    RecordingGap.objects.filter(camera=c).update(end=now - dt.timedelta(minutes=30))
    VideoAlarm.objects.create(kind=AlarmKind.DISK_LOW, detail="8 % free", raised_at=now)

    response = client_for(make_user(Role.MONITORING_AGENT)).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    open_table = html[html.index('id="open-faults"') : html.index('id="video-alarms"')]
    # oldest first
    assert open_table.index(f'data-camera="{a.pk}"') < open_table.index(f'data-camera="{b.pk}"')
    assert "the camera refused the password" in open_table
    assert f'data-camera="{c.pk}"' not in open_table
    korean = seoul_since.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert korean.strftime("%Y-%m-%d %H:%M:%S") in open_table
    assert "7 min" in open_table
    closed_table = html[html.index('id="closed-faults"') : html.index('id="recording-gaps"')]
    assert f'data-camera="{c.pk}"' in closed_table
    gaps_table = html[html.index('id="recording-gaps"') :]
    assert gaps_table.count("<tr data-camera") == 3 and 'class="ongoing"' in gaps_table
    assert "8 % free" in html and 'data-open="2"' in html
    # the page polls with the header that keeps polling from counting as user activity
    assert 'hx-trigger="every 10s"' in html and "X-Gwanje-Poll" in html


def test_htmx_refresh_returns_the_fragment(make_user, client_for, cameras):
    health.camera_down(cameras[0].pk, health.Diagnosis(FaultReason.NO_VIDEO, "the stream has no video track"))
    client = client_for(make_user(Role.CONTRACTOR))
    response = client.get(URL, headers={"HX-Request": "true", "X-Gwanje-Poll": "1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="open-faults"' in html and "no video track" in html


def test_empty(make_user, client_for):
    CameraFault.objects.all().delete()
    html = client_for(make_user(Role.MONITORING_AGENT)).get(URL).content.decode()
    assert 'data-open="0"' in html
