from django import forms
from django.utils.translation import gettext_lazy as _

from leadwerk.campaigns.models import Campaign, Channel


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("List (CSV or Excel .xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.filter(is_active=True), empty_label=None
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.filter(is_active=True).select_related("channel"),
        required=False,
    )
    sheet = forms.CharField(label=_("Sheet (Excel only, optional)"), required=False, max_length=100)

    def clean(self):
        data = super().clean()
        channel, campaign = data.get("channel"), data.get("campaign")
        if channel and campaign and campaign.channel_id != channel.id:
            self.add_error(
                "campaign",
                _("This campaign belongs to channel %(channel)s.") % {"channel": campaign.channel},
            )
        return data
