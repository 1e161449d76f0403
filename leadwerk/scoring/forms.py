"""Forms for the scoring model: the JSON editor with import, and the quick tuning of numbers."""

from __future__ import annotations

import copy

from django import forms
from django.utils.translation import gettext_lazy as _

from leadwerk.activities.models import EventSettings

from .config import GRADES

MAX_UPLOAD = 256 * 1024


class ModelDocumentForm(forms.Form):
    document = forms.CharField(
        label=_("Model (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 28, "class": "code", "spellcheck": "false"}),
    )
    upload = forms.FileField(label=_("…or import a file (.json)"), required=False)
    note = forms.CharField(
        label=_("What changed and why"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload:
            if upload.size > MAX_UPLOAD:
                raise forms.ValidationError(
                    _("The file is too large (at most %(n)s KB).") % {"n": MAX_UPLOAD // 1024}
                )
            try:
                cleaned["document"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        if not (cleaned.get("document") or "").strip():
            raise forms.ValidationError(_("Paste a model or choose a file to import."))
        return cleaned


class TuneForm(forms.Form):
    """The numbers of a model (points, caps, half-lives, thresholds) as form fields; the
    structure (rules, conditions) stays as it is."""

    def __init__(self, *args, config: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = config
        eng, fit = config["engagement"], config["fit"]
        self.group_fields, self.rule_fields, self.fit_fields = [], [], []
        for g in eng["groups"]:
            name = f"group__{g['key']}"
            self.fields[name] = forms.FloatField(
                label=g["name"], initial=g["half_life_days"], min_value=0.01, max_value=3650
            )
            self.group_fields.append(name)
        for r in eng["rules"]:
            points, cap = f"rule__{r['id']}__points", f"rule__{r['id']}__max_count"
            self.fields[points] = forms.IntegerField(
                label=r["label"] or r["id"], initial=r["points"], min_value=-1000, max_value=1000
            )
            self.fields[cap] = forms.IntegerField(
                label=_("at most"), initial=r["max_count"], required=False, min_value=1
            )
            self.rule_fields.append((r, points, cap))
        for r in fit["rules"]:
            name = f"fit__{r['id']}"
            self.fields[name] = forms.IntegerField(
                label=r["label"] or r["id"], initial=r["points"], min_value=-1000, max_value=1000
            )
            self.fit_fields.append((r, name))
        for grade in ("A", "B", "C"):
            self.fields[f"grade_{grade}"] = forms.IntegerField(
                label=_("Grade %(g)s from") % {"g": grade}, initial=fit["grades"][grade]
            )
        for n, value in enumerate(eng["bands"], start=1):
            self.fields[f"band_{n}"] = forms.FloatField(
                label=_("Band %(n)s from") % {"n": n}, initial=value, min_value=0
            )
        self.fields["handoff_min_grade"] = forms.ChoiceField(
            label=_("Hand-off from grade"),
            choices=[(g, g) for g in GRADES],
            initial=config["handoff"]["min_grade"],
        )
        self.fields["handoff_min_engagement"] = forms.FloatField(
            label=_("and engagement from"), initial=config["handoff"]["min_engagement"]
        )
        self.fields["recycle_enabled"] = forms.BooleanField(
            label=_("Recycle MQLs whose engagement decays"),
            required=False,
            initial=config["recycle"]["enabled"],
        )
        self.fields["recycle_below"] = forms.FloatField(
            label=_("below"), initial=config["recycle"]["below_engagement"], min_value=0
        )
        self.fields["note"] = forms.CharField(
            label=_("What changed and why"),
            max_length=2000,
            required=False,
            widget=forms.Textarea(attrs={"rows": 2}),
        )

    def document(self) -> dict:
        """The base model with the submitted numbers."""
        c = self.cleaned_data
        doc = copy.deepcopy(self.config)
        for g in doc["engagement"]["groups"]:
            g["half_life_days"] = c[f"group__{g['key']}"]
        for r in doc["engagement"]["rules"]:
            r["points"] = c[f"rule__{r['id']}__points"]
            r["max_count"] = c[f"rule__{r['id']}__max_count"]
        for r in doc["fit"]["rules"]:
            r["points"] = c[f"fit__{r['id']}"]
        doc["fit"]["grades"] = {g: c[f"grade_{g}"] for g in ("A", "B", "C")}
        doc["engagement"]["bands"] = [c["band_1"], c["band_2"], c["band_3"]]
        doc["handoff"] = {
            "min_grade": c["handoff_min_grade"],
            "min_engagement": c["handoff_min_engagement"],
        }
        doc["recycle"] = {"enabled": c["recycle_enabled"], "below_engagement": c["recycle_below"]}
        return doc


class EventSettingsForm(forms.ModelForm):
    class Meta:
        model = EventSettings
        fields = [
            "allow_anonymous_prospects",
            "future_tolerance_seconds",
            "tracking_enabled",
            "tracking_domains",
        ]
        widgets = {"tracking_domains": forms.Textarea(attrs={"rows": 4})}

    def clean_tracking_domains(self):
        lines = []
        for raw in self.cleaned_data["tracking_domains"].splitlines():
            host = raw.strip().lower()
            if not host:
                continue
            host = host.removeprefix("https://").removeprefix("http://").split("/")[0]
            if not host or " " in host or "." not in host:
                raise forms.ValidationError(
                    _("'%(line)s' is not a host name such as www.example.de.")
                    % {"line": raw.strip()}
                )
            lines.append(host)
        return "\n".join(lines)
