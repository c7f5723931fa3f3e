from django.urls import path

from gwanje.geo import views

urlpatterns = [
    path("", views.console, name="console"),
    path("map/cameras.json", views.map_cameras, name="map-cameras"),
]
