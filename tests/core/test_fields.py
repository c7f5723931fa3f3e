import pytest
from django.db import connection

from gwanje.core.fields import redact_url
from gwanje.registry.models import Camera

pytestmark = pytest.mark.django_db

URL = "rtsp://admin:s3cret-pw@10.1.2.3:554/Streaming/Channels/101"


def test_stream_url_is_encrypted_at_rest_and_readable_in_python():
    cam = Camera.objects.first()
    cam.main_stream_url = URL
    cam.save()
    with connection.cursor() as c:
        c.execute("SELECT main_stream_url FROM registry_camera WHERE id = %s", [cam.pk])
        stored = c.fetchone()[0]
    assert "s3cret" not in stored and "10.1.2.3" not in stored
    assert Camera.objects.get(pk=cam.pk).main_stream_url == URL


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (URL, "rtsp://admin:***@10.1.2.3:554/Streaming/Channels/101"),
        (
            "rtsp://10.0.0.1/live?user=a&password=x1&channel=1",
            "rtsp://10.0.0.1/live?user=a&password=***&channel=1",
        ),
        ("rtsp://viewer@10.0.0.1/live", "rtsp://viewer@10.0.0.1/live"),
        ("", ""),
    ],
)
def test_redaction(url, shown):
    assert redact_url(url) == shown
