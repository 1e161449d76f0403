from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("calls/", views.calls, name="calls"),
    path("calls/<uuid:uuid>/done/", views.call_done, name="call_done"),
    path("persons/<uuid:uuid>/plan-call/", views.plan_call, name="plan_call"),
]
