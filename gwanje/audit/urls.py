from django.urls import path

from gwanje.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.index, name="index"),
    path("review/", views.review_page, name="review"),
    path("export/", views.export_view, name="export"),
]
