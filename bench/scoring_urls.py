from django.urls import path

from bench.scoring_baseline import views
from leadwerk.urls import urlpatterns as leadwerk_urlpatterns

urlpatterns = [
    *leadwerk_urlpatterns,
    path("bench/events", views.create),
    path("bench/timeline", views.timeline),
]
