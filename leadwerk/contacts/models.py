import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import EmployeeBand, FederalState, Language, Salutation


class Company(models.Model):
    """An organisation that people work for; matched by domain or normalised name."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    legal_form = models.CharField(_("legal form"), max_length=40, blank=True)
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    website = models.CharField(_("website"), max_length=200, blank=True)
    domain = models.CharField(_("domain"), max_length=200, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    employee_band = models.CharField(
        _("employee band"), max_length=10, choices=EmployeeBand.choices, blank=True
    )
    country = models.CharField(_("country"), max_length=2, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    federal_state = models.CharField(
        _("federal state"), max_length=2, choices=FederalState.choices, blank=True
    )
    vat_id = models.CharField(_("VAT ID"), max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return f"{self.name} {self.legal_form}".strip()

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("contacts:company_detail", args=[self.uuid])

    @property
    def display_name(self) -> str:
        return str(self)


class Person(models.Model):
    """A human being at a company (or on their own); matched by normalised e-mail."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    salutation = models.CharField(
        _("salutation"), max_length=2, choices=Salutation.choices, blank=True
    )
    title = models.CharField(_("title"), max_length=40, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    email_normalized = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    phone_valid = models.BooleanField(default=True, editable=False)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, blank=True)
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="persons",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(
                fields=["email_normalized"],
                condition=~Q(email_normalized=""),
                name="person_unique_email",
            )
        ]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return self.full_name or self.email or str(self.uuid)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("contacts:person_detail", args=[self.uuid])

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.title, self.first_name, self.last_name) if p)
