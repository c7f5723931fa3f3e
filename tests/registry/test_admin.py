import datetime as dt

import pytest

from gwanje.registry.choices import Purpose
from gwanje.registry.models import Camera, PurposeExpansion, Site

pytestmark = pytest.mark.django_db


def test_purpose_expansion_recorded_in_admin_activates_the_department(it_admin, client_for):
    c = client_for(it_admin)
    assert c.get("/admin/registry/purposeexpansion/add/").status_code == 200
    parks = Site.objects.filter(code__startswith="SD-P").first().department
    r = c.post(
        "/admin/registry/purposeexpansion/add/",
        {
            "purpose": Purpose.DISASTER,
            "procedure": "briefing",
            "started_on": "2026-01-05",
            "decided_on": "2026-02-01",
            "document_number": "공원녹지과-77",
            "approver": "성동구청장",
            "departments": [parks.pk],
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    record = PurposeExpansion.objects.get(document_number="공원녹지과-77")
    assert record.created_by == it_admin
    assert record.camera_purposes.count() == 43


def test_purpose_expansion_form_errors_are_shown_not_raised(it_admin, client_for):
    r = client_for(it_admin).post(
        "/admin/registry/purposeexpansion/add/",
        {
            "purpose": Purpose.DISASTER,
            "procedure": "briefing",
            "started_on": "2026-03-05",
            "decided_on": "2026-02-01",
            "document_number": "x-1",
            "approver": "구청장",
        },
    )
    assert r.status_code == 200
    assert "결정일은 절차 시작일보다 앞설 수 없습니다" in r.content.decode()
    r = client_for(it_admin).post(
        "/admin/registry/purposeexpansion/add/",
        {
            "purpose": Purpose.DISASTER,
            "procedure": "briefing",
            "started_on": "2026-01-05",
            "decided_on": "2026-02-01",
            "document_number": "x-1",
            "approver": "구청장",
        },
    )
    assert r.status_code == 200
    assert "카메라를 하나 이상 선택하세요" in r.content.decode()
    assert not PurposeExpansion.objects.exists()


def test_site_outside_korea_is_a_form_error(it_admin, client_for):
    site = Site.objects.get(code="SD-A001")
    r = client_for(it_admin).post(
        f"/admin/registry/site/{site.pk}/change/",
        {
            "code": "SD-A001",
            "name": site.name,
            "point": '{"type": "Point", "coordinates": [1.0, 2.0]}',
            "department": site.department_id,
            "owner": "district",
            "installed_on_precision": "day",
            "source": "deployment",
        },
    )
    assert r.status_code == 200
    assert "국내 범위(위도 33–39, 경도 124–132)" in r.content.decode()
    site.refresh_from_db()
    assert round(site.point.y, 1) != 127.0


def test_department_manager_without_admin_access_is_kept_out(parks_manager, client_for):
    assert client_for(parks_manager).get("/admin/registry/camera/").status_code == 302
    assert Camera.objects.count() == 1069


def test_admin_delete_goes_through_the_service(it_admin, client_for):
    cam = Camera.objects.get(site__code="SD-A001", number=1)
    r = client_for(it_admin).post(f"/admin/registry/camera/{cam.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not Camera.objects.filter(pk=cam.pk).exists()
    site = Site.objects.get(code="SD-A002")
    r = client_for(it_admin).post(
        "/admin/registry/site/",
        {"action": "delete_selected", "_selected_action": [site.pk], "post": "yes"},
    )
    assert r.status_code == 302
    assert not Site.objects.filter(pk=site.pk).exists()


def test_a_recorded_expansion_only_changes_its_notes(it_admin, client_for):
    from gwanje.registry import services

    record = services.record_purpose_expansion(
        purpose=Purpose.DISASTER, procedure="briefing", started_on=dt.date(2026, 1, 5),
        decided_on=dt.date(2026, 2, 1), document_number="공원녹지과-78", approver="성동구청장",
        cameras=list(Camera.objects.filter(site__code="SD-P001")), by=it_admin,
    )  # fmt: skip
    c = client_for(it_admin)
    r = c.post(f"/admin/registry/purposeexpansion/{record.pk}/change/", {"notes": "관보 게재 확인"})
    assert r.status_code == 302
    record.refresh_from_db()
    assert record.notes == "관보 게재 확인" and record.document_number == "공원녹지과-78"
