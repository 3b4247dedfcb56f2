"""The access policy: who may see which records, and who may do what to them.

This module is the only place that decides. Querysets scope themselves with `visible_q` (so lists,
counts, exports, search and dashboards agree), and views, serializers, forms, the importer and
the notification jobs ask `can(user, action, obj)` before acting on one record.

The rules (SPEC §2):
- public records: anyone; internal: signed-in staff, liaisons and admins;
  restricted: the owning city's staff, liaisons and admins.
- staff write the records of their home cities; liaisons review; partners and anonymous
  visitors only read; admins do everything.
"""

from collections import defaultdict
from enum import StrEnum

from django.db.models import Prefetch, Q

from utilities.history import history_entries

from .models import PortfolioState, Role, User


class Action(StrEnum):
    VIEW = "view"
    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    REVIEW = "review"
    IMPORT = "import"


PUBLIC = "public"
INTERNAL = "internal"
RESTRICTED = "restricted"

# Models whose records carry a `visibility` and an owning `city`.
VISIBILITY_MODELS = {"engagements.Agreement", "engagements.Engagement"}
# Records that hang off an engagement and are never public: they follow its visibility,
# but only people who read internal records see them.
ENGAGEMENT_CHILD_MODELS = {"engagements.FollowUp", "engagements.Review", "engagements.Participant"}
# City-owned records without a visibility of their own: readable by all, written by city staff.
CITY_OWNED_MODELS = {"cities.NetworkMembership", "cities.InternationalAffairsOffice"}
# Reference data: readable by all, written by admins.
REFERENCE_MODELS = {"cities.Country", "cities.City", "cities.Topic", "cities.Network", "compliance.ComplianceRule"}
# A state law's flag on an agreement or engagement: seen with its record; resolved or waived by
# the record's city's staff, liaisons and admins.
COMPLIANCE_FLAG = "compliance.ComplianceFlag"
# A person in a home city's directory (SPEC §8.4): people's data, read by internal readers only;
# kept by the home city's staff (and admins).
CONTACT = "contacts.Contact"
# A file on an agreement or engagement (SPEC §8.4): read by whoever reads the record, except that
# partners and the public see only the public documents of public records; added by the record's
# city's staff (and admins).
DOCUMENT = "documents.Document"


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_superuser)


def role_of(user) -> str | None:
    if not (user and user.is_authenticated):
        return None
    return Role.ADMIN if user.is_superuser else user.role


def reads_everything(user) -> bool:
    return role_of(user) in (Role.ADMIN, Role.LIAISON)


def reads_internal(user) -> bool:
    return role_of(user) in (Role.ADMIN, Role.LIAISON, Role.STAFF)


def reads_people(user) -> bool:
    """People's personal data (participants, contacts, who wrote, changed or reviewed a record)
    is for signed-in staff, liaisons and admins, never partners or the public (SPEC §2)."""
    return reads_internal(user)


def home_city_ids(user) -> frozenset[int]:
    """The ids of a staff user's home cities, read once per user object."""
    if role_of(user) != Role.STAFF:
        return frozenset()
    cached = getattr(user, "_home_city_ids", None)
    if cached is None:
        cached = frozenset(user.home_cities.values_list("id", flat=True))
        user._home_city_ids = cached
    return cached


def reviews_engagements(user) -> bool:
    """Liaisons review engagements; admins may act for them."""
    return role_of(user) in (Role.ADMIN, Role.LIAISON)


def portfolio_states(user) -> frozenset[str] | None:
    """The US states a liaison covers, read once per user object; None means every state
    (a liaison with `portfolio_all`, or an admin)."""
    if is_admin(user) or (role_of(user) == Role.LIAISON and user.portfolio_all):
        return None
    if role_of(user) != Role.LIAISON:
        return frozenset()
    cached = getattr(user, "_portfolio_states", None)
    if cached is None:
        cached = frozenset(user.portfolio_states.values_list("subdivision", flat=True))
        user._portfolio_states = cached
    return cached


def portfolio_q(user, prefix: str = "") -> Q:
    """A filter for the records whose owning city lies in `user`'s portfolio."""
    states = portfolio_states(user)
    if states is None:
        return Q()
    return Q(**{f"{prefix}city__subdivision__in": sorted(states)})


def preload_access(users) -> None:
    """Read the home cities and portfolio states of many users in two queries, so a job that
    asks `can` for thousands of users does not query once per user."""
    by_id = {user.pk: user for user in users}
    homes, states = defaultdict(set), defaultdict(set)
    for user_id, city_id in User.home_cities.through.objects.filter(user_id__in=by_id).values_list(
        "user_id", "city_id"
    ):
        homes[user_id].add(city_id)
    for user_id, subdivision in PortfolioState.objects.filter(user_id__in=by_id).values_list("user_id", "subdivision"):
        states[user_id].add(subdivision)
    for user_id, user in by_id.items():
        user._home_city_ids = frozenset(homes[user_id])
        user._portfolio_states = frozenset(states[user_id])


def visible_q(user, prefix: str = "") -> Q:
    """A filter for the agreements or engagements `user` may see.

    `prefix` reaches the record through a relation, e.g. `"engagement__"` for follow-ups.
    """
    if reads_everything(user):
        return Q()
    visibility, city = f"{prefix}visibility", f"{prefix}city_id"
    if role_of(user) == Role.STAFF:
        return Q(**{f"{visibility}__in": [PUBLIC, INTERNAL]}) | Q(
            **{visibility: RESTRICTED, f"{city}__in": sorted(home_city_ids(user))}
        )
    return Q(**{visibility: PUBLIC})


def compliance_flag_q(user) -> Q:
    """A filter for compliance flags: a flag follows its record's visibility (SPEC §8.2)."""
    if reads_everything(user):
        return Q()
    return (Q(agreement__isnull=False) & visible_q(user, prefix="agreement__")) | (
        Q(engagement__isnull=False) & visible_q(user, prefix="engagement__")
    )


def engagement_child_q(user) -> Q:
    """A filter for follow-ups and reviews: internal readers, on engagements they may see."""
    if not reads_internal(user):
        return Q(pk__in=[])
    return visible_q(user, prefix="engagement__")


def document_q(user) -> Q:
    """A filter for documents: those of records `user` may see; for partners and the public,
    only the public documents of public records."""
    if reads_everything(user):
        return Q()
    on_record = (Q(agreement__isnull=False) & visible_q(user, prefix="agreement__")) | (
        Q(engagement__isnull=False) & visible_q(user, prefix="engagement__")
    )
    if reads_internal(user):
        return on_record
    return on_record & Q(is_public=True)


def may_see_document(user, document) -> bool:
    """`document_q` for one document already in memory, with its record."""
    record = document.record
    if record is None or not may_see_record(user, record):
        return False
    return reads_internal(user) or (document.is_public and record.visibility == PUBLIC)


def restrict(queryset, user):
    """`queryset` narrowed to the records `user` may see: the one read policy, for records read
    directly and for those reached through a relation (a linked agreement, a history label, a
    filter by a related id), so a relation cannot show what a list hides."""
    label = queryset.model._meta.label
    if label in VISIBILITY_MODELS:
        return queryset.filter(visible_q(user))
    if label in ENGAGEMENT_CHILD_MODELS:
        return queryset.filter(engagement_child_q(user))
    if label == User._meta.label:
        return queryset if reads_people(user) else queryset.none()
    if label == "cities.WatchedCountry":
        return queryset if reads_internal(user) else queryset.none()
    if label == COMPLIANCE_FLAG:
        return queryset.filter(compliance_flag_q(user))
    if label == CONTACT:
        return queryset if reads_people(user) else queryset.none()
    if label == DOCUMENT:
        return queryset.filter(document_q(user))
    return queryset


def visible_prefetch(lookup: str, model, user) -> Prefetch:
    """A prefetch of the relation `lookup` (to `model`) through the policy: a related record the
    user may not see reads as absent (None, or left out of the list)."""
    return Prefetch(lookup, queryset=restrict(model._default_manager.all(), user))


def history_for(record, user) -> tuple[list[dict], bool]:
    """`record`'s history as `user` may read it: only the versions they may see (none of a
    record's internal past for the public), related records labelled through `restrict`, and who
    made each change only for those who read people's data."""
    versions = visible_q(user) if record._meta.label in VISIBILITY_MODELS else None
    return history_entries(
        record,
        related=lambda model: restrict(model._default_manager.all(), user),
        show_people=reads_people(user),
        versions=versions,
    )


def may_see_record(user, record) -> bool:
    """`visible_q` for one agreement or engagement already in memory."""
    return may_see(user, record.visibility, record.city_id)


def may_see(user, visibility: str, city_id: int) -> bool:
    """`visible_q` for a record read as values: its visibility and owning city."""
    if reads_everything(user) or visibility == PUBLIC:
        return True
    if role_of(user) != Role.STAFF:
        return False
    return visibility == INTERNAL or city_id in home_city_ids(user)


def is_home_city(user, city_id) -> bool:
    return is_admin(user) or (city_id is not None and city_id in home_city_ids(user))


def can(user, action: Action | str, obj) -> bool:
    """May `user` do `action` on `obj`? For CREATE, `obj` is the unsaved record, with its city set.
    For IMPORT, `obj` is the city the imported records belong to."""
    action = Action(action)
    label = obj._meta.label
    if is_admin(user):
        return True

    if label == "cities.City" and action == Action.IMPORT:
        return is_home_city(user, obj.pk)

    if label in VISIBILITY_MODELS:
        if action == Action.VIEW:
            return may_see_record(user, obj)
        if action == Action.REVIEW:
            return label == "engagements.Engagement" and role_of(user) == Role.LIAISON
        if action == Action.CREATE:
            return is_home_city(user, obj.city_id)
        return may_see_record(user, obj) and is_home_city(user, obj.city_id)

    if label in ENGAGEMENT_CHILD_MODELS:
        engagement = obj.engagement
        if not (reads_internal(user) and may_see_record(user, engagement)):
            return False
        if action == Action.VIEW:
            return True
        if label == "engagements.Review":
            return action == Action.CREATE and role_of(user) == Role.LIAISON
        return is_home_city(user, engagement.city_id)

    if label in CITY_OWNED_MODELS:
        return action == Action.VIEW or is_home_city(user, obj.city_id)

    if label == "cities.Organization":
        if action == Action.VIEW:
            return True
        return action in (Action.CREATE, Action.CHANGE) and role_of(user) == Role.STAFF

    if label == "cities.WatchedCountry":
        return action == Action.VIEW and reads_internal(user)

    if label == COMPLIANCE_FLAG:
        record = obj.agreement if obj.agreement_id else obj.engagement
        if not may_see_record(user, record):
            return False
        if action == Action.VIEW:
            return True
        return action == Action.CHANGE and (role_of(user) == Role.LIAISON or is_home_city(user, record.city_id))

    if label == CONTACT:
        if not reads_people(user):
            return False
        return action == Action.VIEW or is_home_city(user, obj.home_city_id)

    if label == DOCUMENT:
        if action == Action.VIEW:
            return may_see_document(user, obj)
        record = obj.record
        return record is not None and may_see_record(user, record) and is_home_city(user, record.city_id)

    if label in REFERENCE_MODELS:
        return action == Action.VIEW

    return False


def writes_any(user, model) -> bool:
    """May `user` write records of `model` at all (the API's 403 before it reads a body)?
    Which record exactly is `can`'s question; this one only rules out whole roles."""
    if is_admin(user):
        return True
    label = model._meta.label
    role = role_of(user)
    if label == "engagements.Review":
        return role == Role.LIAISON
    staff_written = {"engagements.FollowUp", "cities.Organization", CONTACT, DOCUMENT}
    if label in VISIBILITY_MODELS | CITY_OWNED_MODELS | staff_written:
        return role == Role.STAFF
    if label == COMPLIANCE_FLAG:
        return role in (Role.STAFF, Role.LIAISON)
    return False
