"""Legal holds, under /video/ (included by the video URLs; no app_name: the views reverse these
names under the `video` namespace when included there, bare otherwise)."""

from django.urls import path

from gwanje.video import views_holds as views

urlpatterns = [
    path("holds/", views.hold_list, name="holds"),
    path("holds/<int:pk>/release/", views.hold_release, name="hold_release"),
]
