"""State laws on cities' dealings abroad (SPEC §8.2): the rules, as reference data, and the flags
they raise on agreements and engagements."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from cities.models import Country
from engagements.models import Agreement, Engagement

RECORD_KINDS = ("agreements", "engagements")
SEPARATOR = ";"


def split_codes(text: str) -> list[str]:
    return [part.strip() for part in (text or "").replace(",", SEPARATOR).split(SEPARATOR) if part.strip()]


class ComplianceRule(models.Model):
    """A state law that restricts a city's agreements or engagements with some countries.
    Shipped in `compliance/data/compliance_rules.csv`, edited by admins; never in code.

    A rule flags nothing before its `effective_on` (the law is not in force yet): the daily scan
    raises its flags on that day."""

    code = models.CharField(max_length=40, unique=True)
    jurisdiction = models.CharField(max_length=6, db_index=True, help_text="The US state, as ISO 3166-2 (US-TX).")
    name = models.CharField(max_length=300)
    citation = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=500, blank=True)
    countries = models.ManyToManyField(Country, related_name="compliance_rules", blank=True)
    record_kinds = models.CharField(
        max_length=40,
        default="agreements",
        help_text="Which records it covers: agreements, engagements, or both separated by ';'.",
    )
    agreement_kinds = models.CharField(
        max_length=300,
        blank=True,
        help_text="Agreement kinds it covers, separated by ';' (e.g. sister_city); empty: every kind.",
    )
    effective_on = models.DateField(null=True, blank=True)
    deadline_on = models.DateField(null=True, blank=True, help_text="By when the required action is due, if ever.")
    required_action = models.TextField(blank=True)
    note = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["jurisdiction", "code"]

    def __str__(self):
        return f"{self.code}: {self.name}"

    @property
    def kinds(self) -> list[str]:
        return split_codes(self.record_kinds)

    @property
    def agreement_kind_list(self) -> list[str]:
        return split_codes(self.agreement_kinds)

    def in_force(self, today) -> bool:
        return self.is_active and (self.effective_on is None or self.effective_on <= today)

    def clean(self):
        super().clean()
        errors = {}
        self.jurisdiction = (self.jurisdiction or "").strip().upper()
        if not (len(self.jurisdiction) == 5 and self.jurisdiction.startswith("US-")):
            errors["jurisdiction"] = ["Give a US state as ISO 3166-2, e.g. US-TX."]
        unknown = [kind for kind in self.kinds if kind not in RECORD_KINDS]
        if unknown or not self.kinds:
            errors["record_kinds"] = ["Give agreements, engagements or both, separated by ';'."]
        bad = [kind for kind in self.agreement_kind_list if kind not in Agreement.Kind.values]
        if bad:
            errors["agreement_kinds"] = [f"Unknown agreement kinds: {', '.join(bad)}."]
        if errors:
            raise ValidationError(errors)
        self.record_kinds = SEPARATOR.join(self.kinds)
        self.agreement_kinds = SEPARATOR.join(self.agreement_kind_list)


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    WAIVED = "waived", "Waived"


# The reason a flag gets when its condition stops holding (the record ended, changed its
# counterparts, or the rule changed): it is resolved, not deleted, so its history stays, and
# it reopens if the condition holds again.
LIFTED_REASON = "No longer applies"


class ComplianceFlag(models.Model):
    """One rule's flag on one agreement or engagement (exactly one of the two). A flag follows its
    record's visibility: who cannot see the record cannot see its flags."""

    rule = models.ForeignKey(ComplianceRule, on_delete=models.CASCADE, related_name="flags")
    agreement = models.ForeignKey(
        Agreement, null=True, blank=True, on_delete=models.CASCADE, related_name="compliance_flags"
    )
    engagement = models.ForeignKey(
        Engagement, null=True, blank=True, on_delete=models.CASCADE, related_name="compliance_flags"
    )
    raised_on = models.DateField(default=timezone.localdate)
    status = models.CharField(max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["rule__jurisdiction", "rule__code", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(agreement__isnull=False, engagement__isnull=True)
                | Q(agreement__isnull=True, engagement__isnull=False),
                name="compliance_flag_one_record",
            ),
            models.UniqueConstraint(
                fields=["rule", "agreement"],
                condition=Q(agreement__isnull=False),
                name="compliance_flag_once_agreement",
            ),
            models.UniqueConstraint(
                fields=["rule", "engagement"],
                condition=Q(engagement__isnull=False),
                name="compliance_flag_once_engagement",
            ),
        ]
        indexes = [models.Index(fields=["status", "rule"], name="compliance_flag_status_idx")]

    def __str__(self):
        return f"{self.rule.code} on {self.record}"

    @property
    def record(self):
        return self.agreement if self.agreement_id else self.engagement

    @property
    def lifted(self) -> bool:
        return self.status == FlagStatus.RESOLVED and self.decided_by_id is None and self.reason == LIFTED_REASON

    def past_deadline(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.rule.deadline_on is not None and self.rule.deadline_on < today
