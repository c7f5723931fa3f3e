"""Test URLconf until the playback routes are merged: the project's URLs plus the playback pages
(under /video/, in the `video` namespace) and the recordings API (/api/v1/cameras/<pk>/recordings/).
Use with @pytest.mark.urls("tests.video.urls_playback_test")."""

from django.urls import include, path

from gwanje import urls as project
from gwanje.video import urls as video_urls
from gwanje.video import urls_playback
from gwanje.video.api_playback import CameraRecordingsView

_video = ([*video_urls.urlpatterns, *urls_playback.urlpatterns], "video")
urlpatterns = [
    path(
        "api/v1/cameras/<int:pk>/recordings/",
        CameraRecordingsView.as_view(),
        name="api-camera-recordings",
    ),
    path("video/", include(_video)),
    *(p for p in project.urlpatterns if str(p.pattern) != "video/"),
]

handler400 = project.handler400
handler403 = project.handler403
handler404 = project.handler404
handler500 = project.handler500
