import pytest

from gwanje.geo.queries import nearest
from gwanje.registry.models import Camera

pytestmark = pytest.mark.django_db


def test_a_camera_exactly_at_the_query_point_is_first_at_zero_metres():
    cam = Camera.objects.get(site__code="SD-K001", number=1)
    hits = nearest(Camera.objects.all(), cam.point.x, cam.point.y, n=3)
    assert hits[0].obj.site_id == cam.site_id
    assert hits[0].distance_m == pytest.approx(0.0, abs=1e-6)
    assert [h.distance_m for h in hits] == sorted(h.distance_m for h in hits)
    within = nearest(Camera.objects.all(), cam.point.x, cam.point.y, n=3, radius_m=1)
    assert within and within[0].distance_m == pytest.approx(0.0, abs=1e-6)
