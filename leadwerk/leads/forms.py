"""Forms for telesales entry, public web forms and lead actions. Field validation is the
intake contract's (leads.intake), so the UI accepts and refuses what the API does."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError as PydanticValidationError

from leadwerk.activities.choices import LOGGABLE_TYPES
from leadwerk.campaigns.models import Campaign, Channel
from leadwerk.contacts.choices import Language, Salutation

from .choices import Stage
from .intake import LeadIn
from .models import WebForm

PERSON_KEYS = (
    "salutation",
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "language",
)
COMPANY_KEYS = ("name", "website", "industry", "employees", "country", "postal_code", "city")
COMPANY_FORM_FIELD = {k: f"company_{k}" for k in COMPANY_KEYS}
# What a visitor typed into a public form, given back when a submission is refused.
PUBLIC_RESUBMIT_FIELDS = (
    *PERSON_KEYS[:-1],
    "company_name",
    "message",
    "page",
    "visitor",
    "newsletter",
)


def build_lead_in(cleaned: dict, *, channel: str, campaign: str) -> LeadIn:
    """Turn cleaned form data into the intake contract (raises pydantic's ValidationError)."""
    company = None
    if cleaned.get("company_name"):
        company = {k: cleaned.get(f) or "" for k, f in COMPANY_FORM_FIELD.items()}
        company["employees"] = cleaned.get("company_employees") or None
    return LeadIn.model_validate(
        {
            "person": {k: cleaned.get(k) or "" for k in PERSON_KEYS},
            "company": company,
            "channel": channel,
            "campaign": campaign,
            "product_interest": cleaned.get("product_interest") or "",
            "message": cleaned.get("message") or "",
        }
    )


# The contract's messages are English: they are the API's too. Where a user of the UI can
# cause one, the form says the same in the user's language and at the field it is about.
# (location in the contract, start of the contract's message, form field, message)
_CONTRACT_MESSAGES = [
    (
        ("person",),
        "a person needs an e-mail address or a phone number",
        "email",
        _("Enter an e-mail address or a phone number."),
    ),
    (
        ("person",),
        "a person without e-mail needs a last name",
        "last_name",
        _("Without an e-mail address, enter at least the last name."),
    ),
    (
        ("person", "email"),
        "not a valid e-mail address",
        "email",
        _("Enter a valid e-mail address, e.g. name@example.com."),
    ),
    (
        ("person", "phone"),
        "a phone number needs digits",
        "phone",
        _("A phone number needs digits."),
    ),
    (
        ("company",),
        "a German postal code has five digits",
        "company_postal_code",
        _("A German postal code has five digits."),
    ),
    (
        ("company", "employees"),
        "",
        "company_employees",
        _("Enter a head count or a band such as 50-249."),
    ),
    (
        ("company", "country"),
        "unknown country",
        "company_country",
        _("Unknown country. Enter a code such as DE or a name such as Österreich."),
    ),
]


def add_contract_errors(form: forms.Form, exc: PydanticValidationError) -> None:
    """Attach the contract's errors to the form fields they belong to."""
    for error in exc.errors():
        loc = tuple(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        field = None
        for where, starts, name, text in _CONTRACT_MESSAGES:
            if loc == where and message.startswith(starts) and name in form.fields:
                field, message = name, text
                break
        else:
            if len(loc) >= 2 and loc[0] == "person" and loc[1] in form.fields:
                field = loc[1]
            elif len(loc) >= 2 and loc[0] == "company":
                name = COMPANY_FORM_FIELD.get(loc[1])
                field = name if name in form.fields else None
            elif loc and loc[0] in form.fields:
                field = loc[0]
        if field is not None and field in form.errors:
            continue  # Django's own check already named the problem there
        form.add_error(field, message)


def contract_check(form: forms.Form, cleaned: dict, *, channel: str, campaign: str):
    """Validate ``cleaned`` against the intake contract; attach its errors to the form.
    Returns the contract's value when the whole form is valid, else None."""
    try:
        lead_in = build_lead_in(cleaned, channel=channel, campaign=campaign)
    except PydanticValidationError as exc:
        add_contract_errors(form, exc)
        return None
    return None if form.errors else lead_in


class _LeadFields(forms.Form):
    salutation = forms.ChoiceField(
        label=_("Salutation"),
        choices=Salutation.choices,
        required=False,
        widget=forms.Select(attrs={"autocomplete": "honorific-prefix"}),
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("e.g. Dr.")}),
    )
    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.CharField(
        label=_("E-mail"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    job_title = forms.CharField(
        label=_("Job title"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    company_name = forms.CharField(
        label=_("Company"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    message = forms.CharField(
        label=_("Message"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LeadEntryForm(_LeadFields):
    """Telesales: everything on one keyboard-friendly page."""

    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, required=False)
    company_website = forms.CharField(label=_("Website"), max_length=200, required=False)
    company_industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    company_employees = forms.CharField(label=_("Employees"), max_length=12, required=False)
    company_country = forms.CharField(
        label=_("Country"), max_length=60, required=False, initial="DE"
    )
    company_postal_code = forms.CharField(label=_("Postal code"), max_length=12, required=False)
    company_city = forms.CharField(label=_("City"), max_length=100, required=False)
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.none(), to_field_name="slug"
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False, to_field_name="slug"
    )
    product_interest = forms.CharField(label=_("Product interest"), max_length=200, required=False)

    field_order = [
        "email",
        "salutation",
        "title",
        "first_name",
        "last_name",
        "phone",
        "job_title",
        "language",
        "company_name",
        "company_website",
        "company_industry",
        "company_employees",
        "company_country",
        "company_postal_code",
        "company_city",
        "channel",
        "campaign",
        "product_interest",
        "message",
    ]

    PERSON_GROUP = (
        "salutation",
        "title",
        "first_name",
        "last_name",
        "phone",
        "job_title",
        "language",
    )
    INQUIRY_GROUP = ("channel", "campaign", "product_interest")

    def _group(self, names) -> list:
        return [self[name] for name in names]

    @property
    def person_fields(self) -> list:
        return self._group(self.PERSON_GROUP)

    @property
    def company_fields(self) -> list:
        return self._group(n for n in self.fields if n.startswith("company_"))

    @property
    def inquiry_fields(self) -> list:
        return self._group(self.INQUIRY_GROUP)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(is_active=True)
        self.fields["channel"].empty_label = _("— choose —")
        self.fields["campaign"].queryset = Campaign.objects.filter(is_active=True).select_related(
            "channel"
        )
        self.fields["campaign"].empty_label = _("— none —")
        self.lead_in: LeadIn | None = None

    def clean(self):
        cleaned = super().clean()
        channel, campaign = cleaned.get("channel"), cleaned.get("campaign")
        if channel and campaign and campaign.channel_id != channel.id:
            self.add_error(
                "campaign",
                _("This campaign belongs to the channel %(channel)s.")
                % {"channel": campaign.channel.name},
            )
        company_details = [
            name
            for name in self.fields
            if name.startswith("company_")
            and name not in ("company_name", "company_country")
            and cleaned.get(name)
        ]
        if company_details and not cleaned.get("company_name"):
            self.add_error(
                "company_name",
                _("Enter the company's name, or leave the other company fields empty."),
            )
        # The contract runs even when a field is already wrong, so one round names every
        # problem; a missing channel gets a stand-in that is never stored.
        self.lead_in = contract_check(
            self,
            cleaned,
            channel=channel.slug if channel else "-",
            campaign=campaign.slug if campaign else "",
        )
        return cleaned


class PublicLeadForm(_LeadFields):
    """A web form on a company website. Which optional fields show is set per WebForm."""

    # Fields that share a row with their neighbour on wide screens.
    half_width = frozenset({"salutation", "title", "first_name", "last_name", "phone", "job_title"})

    # Honeypot: hidden from people by CSS, filled in by bots.
    homepage = forms.CharField(required=False, label=_("Leave this field empty"))
    token = forms.CharField(widget=forms.HiddenInput)
    page = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)
    # The website tracking snippet's visitor id: joins their page views to the person.
    visitor = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    # Optional newsletter consent (shown only while a consent text is published), and which
    # version of the text the visitor saw.
    newsletter = forms.BooleanField(required=False, label=_("Newsletter"))
    consent_text = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, webform: WebForm, **kwargs):
        super().__init__(*args, **kwargs)
        self.webform = webform
        self.lead_in: LeadIn | None = None
        # The consent text the checkbox shows; on submit, the version that was shown.
        self.newsletter_text = newsletter_text_shown()
        if self.newsletter_text is None:
            del self.fields["newsletter"]
            del self.fields["consent_text"]
        else:
            self.fields["consent_text"].initial = self.newsletter_text.uuid
        self.fields["email"].required = True
        self.fields["last_name"].required = True
        self.fields["first_name"].required = True
        for flag, name in (
            ("ask_phone", "phone"),
            ("ask_company", "company_name"),
            ("ask_job_title", "job_title"),
            ("ask_message", "message"),
        ):
            if not getattr(webform, flag):
                del self.fields[name]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("newsletter") and cleaned.get("consent_text"):
            shown = newsletter_text_shown(uuid=cleaned["consent_text"])
            if shown is not None:
                self.newsletter_text = shown
        self.lead_in = contract_check(
            self,
            {**cleaned, "product_interest": self.webform.product_interest},
            channel=self.webform.channel.slug,
            campaign=self.webform.campaign.slug if self.webform.campaign_id else "",
        )
        return cleaned


def newsletter_text_shown(*, uuid=None):
    """The newsletter consent text a public form shows: the current version in the page's
    language; with ``uuid``, that version (the one a visitor saw, if it is still stored)."""
    from leadwerk.consent.choices import ContactChannel, Purpose
    from leadwerk.consent.models import ConsentText
    from leadwerk.consent.selectors import consent_text_current

    if uuid is not None:
        return ConsentText.objects.filter(
            uuid=uuid, purpose=Purpose.NEWSLETTER, channel=ContactChannel.EMAIL
        ).first()
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return consent_text_current(
        purpose=Purpose.NEWSLETTER, channel=ContactChannel.EMAIL, language=language
    )


class TransitionForm(forms.Form):
    to = forms.ChoiceField(label=_("Move to"), choices=Stage.choices)
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class LogActivityForm(forms.Form):
    type = forms.ChoiceField(label=_("Type"), choices=[(t.value, t.label) for t in LOGGABLE_TYPES])
    subject = forms.CharField(
        label=_("Subject"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. reached, sends the RFQ on Monday")}),
    )
    body = forms.CharField(
        label=_("Notes"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    restricted = forms.BooleanField(
        label=_("Restricted note (only you, the owner, team managers and admins see it)"),
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("restricted") and cleaned.get("type") != "note":
            self.add_error("restricted", _("Only notes can be restricted."))
        return cleaned


class WebFormForm(forms.ModelForm):
    class Meta:
        model = WebForm
        fields = [
            "name",
            "channel",
            "campaign",
            "language",
            "product_interest",
            "ask_phone",
            "ask_company",
            "ask_job_title",
            "ask_message",
            "thank_you_text",
            "is_active",
        ]
        widgets = {"thank_you_text": forms.Textarea(attrs={"rows": 3})}

    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Visitor's browser")), ("de", "Deutsch"), ("en", "English")],
        required=False,
        help_text=_("Empty: the form speaks the language the visitor's browser asks for."),
    )

    def clean(self):
        cleaned = super().clean()
        campaign, channel = cleaned.get("campaign"), cleaned.get("channel")
        if campaign and channel and campaign.channel_id != channel.id:
            self.add_error("campaign", _("This campaign belongs to another channel."))
        return cleaned
