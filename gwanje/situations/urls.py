from django.urls import path

from gwanje.situations import views

app_name = "situations"
urlpatterns = [
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/close/", views.incident_close, name="incident_close"),
    path("grants/", views.grant_list, name="grant_list"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
]
