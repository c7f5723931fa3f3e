"""Art. 2②: a secondary purpose is usable only once a purpose-expansion record covers it."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from gwanje.registry import services
from gwanje.registry.choices import ExpansionProcedure, Purpose
from gwanje.registry.filters import CameraFilterSet
from gwanje.registry.models import Camera
from gwanje.registry.queries import active_purposes

pytestmark = pytest.mark.django_db

D = dt.date(2026, 3, 2)


def _dumping_cameras(qs=None):
    return CameraFilterSet({"purpose": [Purpose.ILLEGAL_DUMPING]}, queryset=qs or Camera.objects.all()).qs


def _record(cams, **over):
    kw = dict(
        purpose=Purpose.ILLEGAL_DUMPING,
        procedure=ExpansionProcedure.ADMIN_NOTICE,
        started_on=D,
        decided_on=D + dt.timedelta(days=20),
        document_number="자치행정과-1234",
        approver="성동구청장",
    )
    kw.update(over)
    kw.setdefault("cameras", cams)
    return services.record_purpose_expansion(**kw)


def test_inactive_until_recorded_then_active():
    autonomous = Camera.objects.filter(site__department__code="seongdong-autonomous-admin")
    cam = autonomous.first()
    assert Purpose.ILLEGAL_DUMPING not in active_purposes(cam)
    assert _dumping_cameras().count() == 33  # only the sanitation department's primary cameras
    record = _record(list(autonomous))
    cam.refresh_from_db()
    assert Purpose.ILLEGAL_DUMPING in active_purposes(cam)
    assert _dumping_cameras().count() == 33 + 750
    assert record.camera_purposes.count() == 750


def test_a_record_may_add_a_purpose_not_listed_before():
    cam = Camera.objects.get(site__code="SD-K001", number=1)  # police camera, no secondary purposes
    _record([cam], purpose=Purpose.DISASTER)
    assert active_purposes(cam) == [Purpose.CRIME_PREVENTION, Purpose.DISASTER]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"decided_on": D - dt.timedelta(days=1)}, "decided_on"),
        ({"ended_on": D - dt.timedelta(days=1)}, "ended_on"),
        ({"cameras": []}, "cameras"),
        ({"document_number": ""}, "document_number"),
    ],
)
def test_invalid_records_are_refused_and_nothing_is_written(over, field):
    cams = list(Camera.objects.filter(site__code="SD-A001"))
    with pytest.raises(ValidationError) as exc:
        _record(cams, **over)
    assert field in exc.value.message_dict
    assert not cams[0].secondary_purposes.filter(expansion__isnull=False).exists()


def test_primary_purpose_cannot_be_expanded_to_itself():
    cams = list(Camera.objects.filter(site__code="SD-D001"))
    with pytest.raises(ValidationError):
        _record(cams)
