"""The camera list (/registry/cameras/) and camera page/card (/registry/cameras/<id>/)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone, translation

from gwanje.accounts import services as accounts
from gwanje.accounts.models import Organisation
from gwanje.registry import services
from gwanje.registry.choices import CameraStatus, ExpansionProcedure, Purpose
from gwanje.registry.models import Camera, Site

pytestmark = pytest.mark.django_db

LIST = "/registry/cameras/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def dept(name: str) -> Organisation:
    return Organisation.objects.get(name=name)


def detail(camera: Camera) -> str:
    return f"/registry/cameras/{camera.pk}/"


def camera_of(department: str) -> Camera:
    return Camera.objects.filter(site__department__name=department).order_by("id").first()


# --- access -----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, seongdong):
    for url in [LIST, detail(Camera.objects.first())]:
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url


def test_user_without_registry_view_gets_403(client_for, seongdong):
    nobody = accounts.create_user(username="nobody", organisation=dept("전산정보과"), roles=[])
    client = client_for(nobody)
    assert client.get(LIST).status_code == 403
    assert client.get(detail(Camera.objects.first())).status_code == 403


def test_department_manager_sees_only_their_department(parks_manager, client_for):
    client = client_for(parks_manager)
    r = client.get(LIST)
    assert r.context["paginator"].count == 43
    assert {c.site.department.name for c in r.context["page"].object_list} == {"공원녹지과"}
    assert client.get(detail(camera_of("공원녹지과"))).status_code == 200
    assert client.get(detail(camera_of("자치행정과"))).status_code == 404
    assert client.get(detail(camera_of("자치행정과")), **HTMX).status_code == 404


def test_unknown_camera_is_404(agent, client_for):
    assert client_for(agent).get("/registry/cameras/999999999/").status_code == 404


# --- the list ---------------------------------------------------------------------------------


def test_list_is_paginated_with_status_badges(agent, client_for):
    client = client_for(agent)
    r = client.get(LIST)
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" in html and "1,069" in html
    assert r.context["paginator"].count == 1069
    page1 = [c.pk for c in r.context["page"].object_list]
    assert len(page1) == 50
    assert html.count(f'style="background:{CameraStatus.colour(CameraStatus.ONLINE)}"') >= 50
    page2 = [c.pk for c in client.get(LIST, {"page": 2}).context["page"].object_list]
    assert len(page2) == 50 and not set(page1) & set(page2)
    last = client.get(LIST, {"page": 999}).context["page"]
    assert last.number == 22 and len(last.object_list) == 1069 - 21 * 50


def test_list_filters_with_camera_filterset(agent, client_for):
    client = client_for(agent)
    r = client.get(LIST, {"department": dept("자치행정과").pk})
    assert r.context["paginator"].count == 750
    camera = Camera.objects.order_by("id").first()
    services.set_camera_status(camera, CameraStatus.FAULT)
    r = client.get(LIST, {"status": CameraStatus.FAULT})
    assert [c.pk for c in r.context["page"].object_list] == [camera.pk]
    assert f'style="background:{CameraStatus.colour(CameraStatus.FAULT)}"' in r.content.decode()
    r = client.get(LIST, {"q": camera.site.code})
    assert r.context["paginator"].count == camera.site.cameras.count()


def test_invalid_filter_is_400_with_the_error_shown(agent, client_for):
    r = client_for(agent).get(LIST, {"status": "bogus"})
    assert r.status_code == 400
    assert r.context["paginator"].count == 0
    assert "bogus" in r.content.decode()


def test_htmx_request_gets_only_the_table(agent, client_for):
    r = client_for(agent).get(LIST, {"department": dept("공원녹지과").pk}, **HTMX)
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" not in html and "<table" in html
    assert "HX-Request" in r["Vary"]
    assert html.count("/registry/cameras/") >= 43


def test_list_query_count_does_not_grow_with_the_page(agent, client_for, django_assert_max_num_queries):
    client = client_for(agent)
    client.get(LIST)
    with django_assert_max_num_queries(12):
        client.get(LIST, {"page": 3})


# --- the camera page and card -----------------------------------------------------------------


def test_camera_page_and_card_show_the_registry_data(agent, client_for):
    camera = Camera.objects.select_related("site", "site__department", "site__dong").get(
        site__code="SD-A001", number=1
    )
    client = client_for(agent)
    page = client.get(detail(camera))
    card = client.get(detail(camera), **HTMX)
    assert page.status_code == card.status_code == 200
    assert "<html" in page.content.decode() and "<html" not in card.content.decode()
    assert "HX-Request" in card["Vary"]
    for html in [page.content.decode(), card.content.decode()]:
        assert f'data-camera-id="{camera.pk}"' in html
        assert "SD-A001-1" in html and camera.site.name in html
        assert f'<dd class="site-code">{camera.site.code}</dd>' in html
        assert f'<dd class="department">{camera.site.department.name}</dd>' in html
        assert camera.site.dong.name in html
        assert 'class="badge synthetic"' in html
        assert f'style="background:{CameraStatus.colour(camera.status)}"' in html
    # The other cameras of the site link to their cards.
    others = camera.site.cameras.exclude(pk=camera.pk)
    assert others.exists()
    for other in others:
        assert f'data-camera-link="{other.pk}"' in card.content.decode()


def test_inactive_secondary_purposes_are_marked(agent, client_for, it_admin):
    camera = Camera.objects.get(site__code="SD-A001", number=1)
    secondary = sorted(camera.secondary_purposes.values_list("purpose", flat=True))
    assert secondary, "the deployment gives A001 secondary purposes"
    client = client_for(agent)
    html = client.get(detail(camera), **HTMX).content.decode()
    assert html.count('class="badge inactive"') == len(secondary)
    assert 'class="inactive-note"' in html
    purpose = secondary[0]
    services.record_purpose_expansion(
        purpose=purpose,
        procedure=ExpansionProcedure.ADMIN_NOTICE,
        started_on=dt.date(2026, 1, 5),
        decided_on=dt.date(2026, 2, 1),
        document_number="성동-2026-1",
        approver="구청장",
        cameras=[camera],
        by=it_admin,
    )
    html = client.get(detail(camera), **HTMX).content.decode()
    assert html.count('class="badge inactive"') == len(secondary) - 1
    active = re.search(r'<ul class="active-purposes">(.*?)</ul>', html, re.S).group(1)
    assert Purpose.colour(purpose) in active


def test_card_shows_flags_streams_redacted_and_time_in_seoul(agent, client_for):
    camera = Camera.objects.select_related("site").get(site__code="SD-A001", number=1)
    site = camera.site
    site.has_emergency_bell = True
    site.is_smart_shelter = True
    services.save_site(site)
    camera.main_stream_url = "rtsp://admin:S3cret-pw@10.1.2.3:554/Streaming/101"
    camera.view_direction = "왕십리역 방면"
    camera.retention_days = 45
    services.save_camera(camera)
    services.set_camera_status(camera, CameraStatus.OFFLINE)
    camera.refresh_from_db()
    html = client_for(agent).get(detail(camera), **HTMX).content.decode()
    assert "S3cret-pw" not in html
    assert camera.main_stream_url_redacted in html and "***" in html
    assert "왕십리역 방면" in html and "45" in html
    with translation.override("ko"):
        for field in ["has_emergency_bell", "is_smart_shelter"]:
            assert str(Site._meta.get_field(field).verbose_name) in html
        assert str(Site._meta.get_field("is_mobile").verbose_name) not in html
    seoul = timezone.localtime(camera.status_changed_at, timezone=dt.timezone(dt.timedelta(hours=9)))
    assert seoul.strftime("%Y-%m-%d %H:%M") in html


@pytest.mark.parametrize(
    ("path", "status"), [("/registry/cameras/", 400), ("/map/cameras.json", 400), ("/", 200)]
)
def test_an_id_beyond_the_integer_range_is_not_a_500(agent, client_for, path, status):
    # the console page itself renders; its camera request then answers 400 with the reason
    r = client_for(agent).get(path, {"department": "1" + "0" * 30, "dong": "9" * 25})
    assert r.status_code == status
