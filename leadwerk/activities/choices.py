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
    WEBINAR_ATTENDED = "webinar_attended", _("Webinar attended")
    EVENT_VISIT = "event_visit", _("Event visited")
    CART_ABANDONED = "cart_abandoned", _("Cart abandoned")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribed")
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
# Behaviour events other systems may send to POST /api/v1/events (and what scoring rules
# can count, together with the intake types below).
EVENT_TYPES = [
    ActivityType.WEB_VISIT,
    ActivityType.DOWNLOAD,
    ActivityType.FORM_SUBMIT,
    ActivityType.EMAIL_OPEN,
    ActivityType.EMAIL_CLICK,
    ActivityType.WEBINAR_ATTENDED,
    ActivityType.EVENT_VISIT,
    ActivityType.CALL,
    ActivityType.MEETING,
    ActivityType.PURCHASE,
    ActivityType.CART_ABANDONED,
    ActivityType.UNSUBSCRIBE,
    ActivityType.COMPLAINT,
    ActivityType.SERVICE_REQUEST,
]
# Activities a scoring rule may count: behaviour events and how the lead came in.
SCORABLE_TYPES = [
    *EVENT_TYPES,
    ActivityType.API_INTAKE,
    ActivityType.MANUAL_ENTRY,
    ActivityType.IMPORT,
]
