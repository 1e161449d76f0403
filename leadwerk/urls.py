from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView

from leadwerk.api import api
from leadwerk.leads.views import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="leads:inbox", permanent=False)),
    path("accounts/", include("leadwerk.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("healthz", health, name="health"),
    path("", include("leadwerk.leads.urls")),
    path("", include("leadwerk.contacts.urls")),
    path("audit/", include("leadwerk.audit.urls")),
    path("export/", include("leadwerk.exports.urls")),
    path("", include("leadwerk.consent.urls")),
    path("", include("leadwerk.privacy.urls")),
    path("", include("leadwerk.messaging.urls")),
    path("", include("leadwerk.activities.urls")),
    path("scoring/", include("leadwerk.scoring.urls")),
    path("", include("leadwerk.routing.urls")),
    path("", include("leadwerk.imports.urls")),
    path("", include("leadwerk.dedup.urls")),
    path("", include("leadwerk.dataquality.urls")),
]
if "bench.baseline" in settings.INSTALLED_APPS:
    urlpatterns.append(path("bench/", include("bench.baseline.urls")))
