from django.db import models
from django.utils.translation import gettext_lazy as _


class ActivityType(models.TextChoices):
    FORM_SUBMIT = "form_submit", _("Form submitted")
    API_INTAKE = "api_intake", _("API intake")
    MANUAL_ENTRY = "manual_entry", _("Entered by telesales")
    IMPORT = "import", _("Import")
    CALL = "call", _("Call")
    EMAIL = "email", _("E-mail")
    MEETING = "meeting", _("Meeting")
    NOTE = "note", _("Note")
    COMPLAINT = "complaint", _("Complaint")
    SERVICE_REQUEST = "service_request", _("Service request")
    PURCHASE = "purchase", _("Purchase")
    WEB_VISIT = "web_visit", _("Web visit")
    DOWNLOAD = "download", _("Download")
    EMAIL_OPEN = "email_open", _("E-mail opened")
    EMAIL_CLICK = "email_click", _("E-mail link clicked")
    STAGE_CHANGE = "stage_change", _("Stage change")
    ASSIGNMENT = "assignment", _("Assignment")
    SLA = "sla", _("Response time")
    UPDATE = "update", _("Data changed")


# Activities a user can log by hand on a lead.
LOGGABLE_TYPES = [
    ActivityType.CALL,
    ActivityType.EMAIL,
    ActivityType.MEETING,
    ActivityType.NOTE,
    ActivityType.COMPLAINT,
    ActivityType.SERVICE_REQUEST,
    ActivityType.PURCHASE,
]
# A logged activity of these types by the owner is a real response to the lead.
RESPONSE_TYPES = frozenset({ActivityType.CALL, ActivityType.EMAIL, ActivityType.MEETING})
