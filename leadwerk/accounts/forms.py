from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import TokenScope


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “Website shop” or “CRM sync”."),
    )
    scope = forms.ChoiceField(
        label=_("Scope"), choices=TokenScope.choices, initial=TokenScope.WRITE
    )
