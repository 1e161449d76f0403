from django.urls import path

from . import views

app_name = "scoring"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("models/", views.models, name="models"),
    path("models/new/", views.model_new, name="model_new"),
    path("models/<uuid:uuid>/", views.model_detail, name="model_detail"),
    path("models/<uuid:uuid>/export.json", views.model_export, name="model_export"),
    path("models/<uuid:uuid>/tune/", views.model_tune, name="model_tune"),
    path("models/<uuid:uuid>/preview/", views.model_preview, name="model_preview"),
    path("models/<uuid:uuid>/activate/", views.model_activate, name="model_activate"),
    path("runs/<uuid:uuid>/", views.run_detail, name="run_detail"),
    path("runs/<uuid:uuid>/resume/", views.run_resume, name="run_resume"),
    path("leads/<uuid:uuid>/", views.lead_panel, name="lead_panel"),
    path("report/", views.report, name="report"),
    path("settings/", views.event_settings, name="settings"),
]
