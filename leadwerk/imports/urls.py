from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("imports/", views.imports, name="list"),
    path("imports/<uuid:uuid>/", views.detail, name="detail"),
    path("imports/<uuid:uuid>/mapping/", views.mapping, name="mapping"),
    path("imports/<uuid:uuid>/start/", views.start, name="start"),
    path("imports/<uuid:uuid>/progress/", views.progress, name="progress"),
    path("imports/<uuid:uuid>/problems.csv", views.issues_csv, name="issues_csv"),
]
