"""Live-view pages, to be included in gwanje/video/urls.py (app_name "video"):

    from gwanje.video.urls_live import urlpatterns as live_urlpatterns
    urlpatterns = [..., *live_urlpatterns]

The live socket itself is not a Django URL: gwanje/asgi.py routes /ws/live/<camera>/<main|sub>/.
"""

from django.urls import path

from gwanje.video import views_live

urlpatterns = [
    path("wall/", views_live.wall, name="wall"),
    path("wall/cameras/", views_live.wall_cameras, name="wall_cameras"),
    path("live/<int:camera_id>/", views_live.live, name="live"),
]
