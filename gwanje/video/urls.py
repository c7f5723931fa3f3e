from django.urls import path

from gwanje.video import views_faults
from gwanje.video.urls_holds import urlpatterns as hold_urlpatterns
from gwanje.video.urls_live import urlpatterns as live_urlpatterns
from gwanje.video.urls_playback import urlpatterns as playback_urlpatterns

app_name = "video"
urlpatterns: list = [
    path("faults/", views_faults.faults, name="faults"),
    *hold_urlpatterns,
    *live_urlpatterns,
    *playback_urlpatterns,
]
