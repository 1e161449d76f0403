from django.urls import path

from . import views

app_name = "privacy"
urlpatterns = [
    path("persons/<uuid:uuid>/privacy/export.json", views.export_json, name="export_json"),
    path("persons/<uuid:uuid>/privacy/export.html", views.export_html, name="export_html"),
    path("persons/<uuid:uuid>/privacy/erase/", views.erase, name="erase"),
    path("privacy/retention/", views.retention, name="retention"),
]
