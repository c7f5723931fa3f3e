from django.urls import path

from gwanje.registry import views_import

app_name = "registry_import"

urlpatterns = [
    path("", views_import.upload, name="upload"),
    path("preview/<str:token>/", views_import.preview, name="preview"),
    path("confirm/", views_import.confirm, name="confirm"),
    path("cancel/", views_import.cancel, name="cancel"),
]
