from django import forms
from django.utils.translation import gettext_lazy as _

from leadwerk.contacts.choices import EmployeeBand, FederalState, Language, Salutation
from leadwerk.dedup.choices import Survivorship
from leadwerk.dedup.services import PERSON_MERGE_FIELDS
from leadwerk.leads.choices import LeadSource

from .choices import COMPANY_FIELDS, PERSON_FIELDS


class PersonCareForm(forms.Form):
    salutation = forms.ChoiceField(
        label=_("Salutation"), choices=Salutation.choices, required=False
    )
    title = forms.CharField(label=_("Title"), max_length=40, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, required=False)


class CompanyCareForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    legal_form = forms.CharField(label=_("Legal form"), max_length=40, required=False)
    website = forms.CharField(label=_("Website"), max_length=200, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    employee_band = forms.ChoiceField(
        label=_("Employees"), choices=EmployeeBand.choices, required=False
    )
    country = forms.CharField(label=_("Country"), max_length=60, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=12, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    federal_state = forms.ChoiceField(
        label=_("Federal state"), choices=FederalState.choices, required=False
    )
    vat_id = forms.CharField(label=_("VAT ID"), max_length=20, required=False)


class QualitySettingsForm(forms.Form):
    person_required = forms.MultipleChoiceField(
        label=_("Required for people"),
        choices=list(PERSON_FIELDS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    company_required = forms.MultipleChoiceField(
        label=_("Required for companies"),
        choices=list(COMPANY_FIELDS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    stale_after_months = forms.IntegerField(
        label=_("Stale after (months)"), min_value=1, max_value=120
    )
    auto_merge_threshold = forms.FloatField(
        label=_("Merge automatically from match probability"), min_value=0.5, max_value=1.0
    )
    review_threshold = forms.FloatField(
        label=_("Ask for review from match probability"), min_value=0.05, max_value=1.0
    )

    default_rule = forms.ChoiceField(
        label=_("When merging, a field keeps"), choices=Survivorship.choices
    )
    source_trust = forms.CharField(
        label=_("Lead sources from most to least trusted"),
        max_length=200,
        help_text=_("Comma-separated, e.g. manual, form, api, import, demo"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in PERSON_MERGE_FIELDS:
            self.fields[f"rule_{name}"] = forms.ChoiceField(
                label=_("Rule for %(field)s") % {"field": name.replace("_", " ")},
                choices=[("", _("default rule")), *Survivorship.choices],
                required=False,
            )

    def clean_source_trust(self):
        names = [n.strip() for n in self.cleaned_data["source_trust"].split(",") if n.strip()]
        unknown = [n for n in names if n not in LeadSource.values]
        if unknown:
            raise forms.ValidationError(
                _("unknown sources: %(names)s (known: %(known)s)")
                % {"names": ", ".join(unknown), "known": ", ".join(LeadSource.values)}
            )
        return names

    def field_rules(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"rule_{name}"]
            for name in PERSON_MERGE_FIELDS
            if self.cleaned_data.get(f"rule_{name}")
        }

    def clean(self):
        data = super().clean()
        auto, review = data.get("auto_merge_threshold"), data.get("review_threshold")
        if auto is not None and review is not None and review > auto:
            self.add_error("review_threshold", _("must not be above the automatic threshold"))
        return data
