from django.urls import path

from . import views

app_name = "contacts"
urlpatterns = [
    path("persons/", views.persons, name="persons"),
    path("persons/check-email/", views.email_check, name="email_check"),
    path("persons/<uuid:uuid>/", views.person_detail, name="person_detail"),
    path("companies/", views.companies, name="companies"),
    path("companies/<uuid:uuid>/", views.company_detail, name="company_detail"),
]
