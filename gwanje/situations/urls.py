from django.urls import path

from gwanje.situations import views, views_incidents

app_name = "situations"
urlpatterns = [
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/close/", views.incident_close, name="incident_close"),
    path("incidents/<int:pk>/act/", views_incidents.incident_act, name="incident_act"),
    path("incidents/<int:pk>/notes/", views_incidents.incident_note, name="incident_note"),
    path("incidents/<int:pk>/snapshot/", views_incidents.incident_snapshot, name="incident_snapshot"),
    path("incidents/<int:pk>/images/<int:image_id>/", views_incidents.incident_image, name="incident_image"),
    path("duties/", views_incidents.duty_matrix, name="duty_matrix"),
    path("dead-letters/", views_incidents.dead_letters, name="dead_letters"),
    path("grants/", views.grant_list, name="grant_list"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
]
