"""Playback, snapshots and clip downloads, under /video/ (included by the video URLs; no app_name:
the views reverse these names under the `video` namespace when included there, bare otherwise).

The recordings API lives under /api/v1/: `cameras/<int:pk>/recordings/` →
gwanje.video.api_playback.CameraRecordingsView (name `api-camera-recordings`)."""

from django.urls import path

from gwanje.video import views_playback as views

urlpatterns = [
    path("playback/<int:camera_id>/", views.playback_page, name="playback"),
    path("playback/<int:camera_id>/index.m3u8", views.playlist, name="playback-playlist"),
    path("playback/<int:camera_id>/init/<int:session_id>.mp4", views.init_segment, name="playback-init"),
    path("playback/<int:camera_id>/seg/<int:segment_id>.m4s", views.media_segment, name="playback-segment"),
    path("snapshot/<int:camera_id>/", views.snapshot, name="snapshot"),
    path("export/<int:camera_id>/", views.export_clip, name="export-clip"),
]
