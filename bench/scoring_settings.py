"""Settings for bench/scoring.py's server: Leadwerk's, plus the bare baseline view."""

from leadwerk.settings import *  # noqa: F403
from leadwerk.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.scoring_baseline"]
ROOT_URLCONF = "bench.scoring_urls"
