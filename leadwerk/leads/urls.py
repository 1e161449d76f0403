from django.urls import path

from . import views

app_name = "leads"
urlpatterns = [
    path("leads/", views.inbox, name="inbox"),
    path("leads/new/", views.entry, name="entry"),
    path("leads/<uuid:uuid>/", views.detail, name="detail"),
    path("leads/<uuid:uuid>/transition/", views.transition, name="transition"),
    path("leads/<uuid:uuid>/log/", views.log_activity, name="log_activity"),
    path("leads/<uuid:uuid>/assign/", views.assign, name="assign"),
    path("forms/", views.webforms, name="webforms"),
    path("forms/new/", views.webform_edit, name="webform_new"),
    path("forms/<uuid:uuid>/", views.webform_edit, name="webform_edit"),
    path("f/<uuid:uuid>/", views.public_form, name="public_form"),
    path("f/<uuid:uuid>/thanks/", views.public_form_thanks, name="public_form_thanks"),
]
