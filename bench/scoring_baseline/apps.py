"""The scoring benchmark's baseline: a bare view that inserts posted events as rows.

Installed only by bench/scoring_settings.py (the settings bench/scoring.py serves with)."""

from django.apps import AppConfig


class ScoringBaselineConfig(AppConfig):
    name = "bench.scoring_baseline"
    label = "bench_scoring_baseline"
    verbose_name = "Scoring benchmark baseline"
