from django.urls import path

from . import views

app_name = "consent"
urlpatterns = [
    path("c/confirm/<str:token>/", views.confirm, name="confirm"),
    path("c/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("c/preferences/<str:token>/", views.preferences, name="preferences"),
    path("consent/texts/", views.texts, name="texts"),
    path("persons/<uuid:uuid>/consent/withdraw/", views.person_withdraw, name="withdraw"),
    path("persons/<uuid:uuid>/consent/record/", views.person_record, name="record"),
    path("persons/<uuid:uuid>/consent/double-opt-in/", views.person_doi, name="doi"),
]
