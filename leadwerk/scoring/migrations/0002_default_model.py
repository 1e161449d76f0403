"""Install the out-of-the-box scoring model (defaults/b2b_standard.json) as version 1."""

from pathlib import Path

from django.db import migrations
from django.utils import timezone

DEFAULT = Path(__file__).resolve().parent.parent / "defaults" / "b2b_standard.json"


def install_default(apps, schema_editor):
    from leadwerk.scoring.config import model_config_data, model_config_parse

    ScoringModel = apps.get_model("scoring", "ScoringModel")
    if ScoringModel.objects.exists():
        return
    cfg = model_config_parse(DEFAULT.read_text(encoding="utf-8"))
    now = timezone.now()
    ScoringModel.objects.create(
        number=1,
        name=cfg.name,
        config=model_config_data(cfg),
        status="active",
        note="Leadwerk default model",
        created_at=now,
        activated_at=now,
    )


def remove_default(apps, schema_editor):
    apps.get_model("scoring", "ScoringModel").objects.filter(number=1, created_by=None).delete()


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]

    operations = [migrations.RunPython(install_default, remove_default)]
