"""The rules of SPEC §3 that span more than one field, shared by the single-record and bulk writes.

Rules within one record's own fields (dates in order) live in the models' `clean()`, which both
paths run through `full_clean`.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError

RELATION_FIELDS = ["counterpart_cities", "counterpart_organizations", "named_countries", "topics"]
OWN_CITY_COUNTERPART = "A record's own city cannot be its counterpart."
AGREEMENT_OF_ANOTHER_CITY = "The agreement must belong to the engagement's own city."


def check_rules(record, *, counterpart_city_ids: Iterable[int], check_agreement: bool) -> None:
    """Raise a ValidationError naming the field if `record`, with these counterpart cities, breaks
    a rule: its own city is not its counterpart; an engagement's agreement is of its own city
    (checked when `check_agreement`, i.e. when the agreement or the city is being set)."""
    errors = {}
    if record.city_id is not None and record.city_id in set(counterpart_city_ids):
        errors["counterpart_cities"] = [OWN_CITY_COUNTERPART]
    agreement_id = getattr(record, "agreement_id", None)
    if check_agreement and agreement_id is not None:
        cached = record._meta.get_field("agreement").get_cached_value(record, default=None)
        if cached is not None and cached.pk == agreement_id:
            agreement_city = cached.city_id
        else:
            related = record._meta.get_field("agreement").related_model
            agreement_city = related._default_manager.filter(pk=agreement_id).values_list("city_id", flat=True).first()
        if agreement_city != record.city_id:
            errors["agreement"] = [AGREEMENT_OF_ANOTHER_CITY]
    if errors:
        raise ValidationError(errors)


def derived_country_codes(
    *, named: Iterable[str], of_cities: Iterable[str], of_organizations: Iterable[str | None]
) -> list[str]:
    """Counterpart countries: those named directly plus those of every counterpart city and
    organisation (an organisation may have none)."""
    return sorted({*named, *of_cities, *(code for code in of_organizations if code)})
