from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .choices import ConsentSource, ContactChannel, LegalBasis, Purpose

STAFF_SOURCES = [
    (s.value, s.label)
    for s in (ConsentSource.CALL, ConsentSource.FORM, ConsentSource.IMPORT, ConsentSource.UI)
]


class ConsentRecordForm(forms.Form):
    """Staff records a consent or another legal basis (e.g. given on the phone)."""

    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=LegalBasis.choices)
    source = forms.ChoiceField(label=_("Source"), choices=STAFF_SOURCES)
    text_version = forms.IntegerField(
        label=_("Text version"),
        min_value=1,
        required=False,
        help_text=_("The version of the consent text the person agreed to."),
    )
    language = forms.ChoiceField(label=_("Text language"), choices=settings.LANGUAGES)
    evidence = forms.CharField(label=_("Evidence"), max_length=300, required=False)


class PurposeChannelForm(forms.Form):
    purpose = forms.ChoiceField(choices=Purpose.choices)
    channel = forms.ChoiceField(choices=ContactChannel.choices)


class ConsentTextForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}))
