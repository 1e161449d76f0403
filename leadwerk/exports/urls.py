from django.urls import path

from . import views

app_name = "exports"
urlpatterns = [
    path("leads.<str:fmt>", views.lead_export, name="leads"),
]
