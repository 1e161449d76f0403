from django.urls import path

from . import views

app_name = "activities"
urlpatterns = [
    path("t/collect", views.collect, name="collect"),
]
