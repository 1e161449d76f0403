from django.urls import path

from . import views

app_name = "dataquality"
urlpatterns = [
    path("quality/", views.dashboard, name="dashboard"),
    path("quality/tasks/", views.tasks, name="tasks"),
    path("quality/leaderboard/", views.leaderboard, name="leaderboard"),
    path("quality/settings/", views.settings_view, name="settings"),
    path("quality/persons/<uuid:uuid>/", views.person_care, name="person_care"),
    path("quality/persons/<uuid:uuid>/bounce/", views.bounce, name="bounce"),
    path("quality/persons/<uuid:uuid>/panel/", views.person_panel, name="person_panel"),
    path("quality/companies/<uuid:uuid>/panel/", views.company_panel, name="company_panel"),
    path("quality/companies/<uuid:uuid>/", views.company_care, name="company_care"),
    path("quality/<str:kind>/<uuid:uuid>/verify/", views.verify, name="verify"),
]
