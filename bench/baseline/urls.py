from django.urls import path

from . import views

app_name = "bench_baseline"
urlpatterns = [path("leads", views.create, name="create")]
