from django.urls import path

from gwanje.registry import views

app_name = "registry"
urlpatterns = [
    path("cameras/", views.camera_list, name="camera_list"),
    path("cameras/<int:pk>/", views.camera_detail, name="camera_detail"),
]
