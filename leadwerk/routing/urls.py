from django.urls import path

from . import views

app_name = "routing"
urlpatterns = [
    path("routing/", views.rules, name="rules"),
    path("routing/test/", views.rule_test, name="test"),
    path("routing/rules/new/", views.rule_edit, name="rule_new"),
    path("routing/rules/<uuid:uuid>/", views.rule_edit, name="rule_edit"),
    path("routing/rules/<uuid:uuid>/test/", views.rule_test, name="rule_test"),
    path("routing/rules/<uuid:uuid>/move/", views.rule_move, name="rule_move"),
    path("routing/rules/<uuid:uuid>/delete/", views.rule_delete, name="rule_delete"),
    path("routing/pools/", views.pools, name="pools"),
    path("routing/pools/new/", views.pool_edit, name="pool_new"),
    path("routing/pools/<uuid:uuid>/", views.pool_detail, name="pool_detail"),
    path("routing/pools/<uuid:uuid>/edit/", views.pool_edit, name="pool_edit"),
    path(
        "routing/pools/<uuid:uuid>/members/<uuid:user_uuid>/",
        views.member_edit,
        name="member_edit",
    ),
    path("routing/absences/", views.absences, name="absences"),
    path("routing/absences/<uuid:uuid>/delete/", views.absence_delete, name="absence_delete"),
    path("routing/calendars/", views.calendars, name="calendars"),
    path("routing/calendars/new/", views.calendar_edit, name="calendar_new"),
    path("routing/calendars/<uuid:uuid>/", views.calendar_edit, name="calendar_edit"),
    path("routing/settings/", views.sla_settings, name="settings"),
    path("routing/queue/", views.queue, name="queue"),
    path("routing/queue/route/", views.queue_route, name="queue_route_all"),
    path("routing/queue/<uuid:uuid>/route/", views.queue_route, name="queue_route"),
    path("routing/reports/", views.reports, name="reports"),
    path("routing/badges/", views.badges, name="badges"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/<uuid:uuid>/", views.notification_open, name="notification_open"),
    path("leads/<uuid:uuid>/accept/", views.lead_answer, {"action": "accept"}, name="accept"),
    path("leads/<uuid:uuid>/reject/", views.lead_answer, {"action": "reject"}, name="reject"),
    path("leads/<uuid:uuid>/return/", views.lead_answer, {"action": "return"}, name="return"),
]
