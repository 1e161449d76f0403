from django.urls import path

from . import views

app_name = "dedup"
urlpatterns = [
    path("duplicates/", views.queue, name="queue"),
    path("duplicates/check/", views.run_check, name="run"),
    path("duplicates/merges/", views.merges, name="merges"),
    path("duplicates/merges/<uuid:uuid>/undo/", views.undo, name="undo"),
    path("duplicates/<uuid:uuid>/", views.review, name="review"),
]
