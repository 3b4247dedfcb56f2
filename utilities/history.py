"""A record's history as people read it: who changed which fields from what to what, and when.

Reads a fixed number of queries whatever the length of the history: the history rows, one query
per many-to-many field for its rows, and one per related model for the labels.

It knows no policy of its own: the caller says which versions the reader may see (`versions`),
through which querysets related records are labelled (`related`: a record left out of it is
shown as empty, so its name never shows, nor whether it exists) and whether the reader may see who
made each change (`show_people`).
"""

from collections import defaultdict
from collections.abc import Callable

from django.apps import apps
from django.db import models
from django.db.models import Q, QuerySet

HIDDEN_FIELDS = {"version", "is_demo", "created_by", "id"}
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
HISTORY_LIMIT = 30


def history_entries(
    record,
    *,
    related: Callable[[type[models.Model]], QuerySet] | None = None,
    show_people: bool = True,
    versions: Q | None = None,
    limit: int = HISTORY_LIMIT,
) -> tuple[list[dict], bool]:
    """The newest `limit` entries, newest first, and whether older ones were left out."""
    model = type(record)
    history_model = record.history.model
    related = related or (lambda related_model: related_model._default_manager.all())
    history = record.history.filter(versions or Q())
    if show_people:
        history = history.select_related("history_user")
    rows = list(history.order_by("-history_date", "-history_id")[: limit + 1])
    truncated = len(rows) > limit
    history_ids = [row.history_id for row in rows]

    fields = [field for field in history_model.tracked_fields if field.editable and field.name not in HIDDEN_FIELDS]
    labels: dict[type[models.Model], dict] = {}
    wanted: dict[type[models.Model], set] = defaultdict(set)
    for field in fields:
        if field.is_relation:
            for row in rows:
                value = getattr(row, field.attname)
                if value is not None:
                    wanted[field.related_model].add(value)

    m2m_values: dict[str, dict[int, frozenset]] = {}
    m2m_fields = list(getattr(history_model, "_history_m2m_fields", []))
    for field in m2m_fields:
        through = apps.get_model(model._meta.app_label, f"{history_model.__name__}_{field.name}")
        target = f"{field.related_model._meta.model_name}_id"
        per_row = defaultdict(set)
        for history_id, target_id in through.objects.filter(history_id__in=history_ids).values_list(
            "history_id", target
        ):
            per_row[history_id].add(target_id)
            wanted[field.related_model].add(target_id)
        m2m_values[field.name] = {history_id: frozenset(per_row[history_id]) for history_id in history_ids}

    for related_model, ids in wanted.items():
        labels[related_model] = {pk: str(obj) for pk, obj in related(related_model).in_bulk(ids).items()}

    def show(field, value):
        if value is None or value == "":
            return "—"
        if field.is_relation:
            return labels.get(field.related_model, {}).get(value, "—")
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return "Yes" if value else "No"
        return str(value)

    def show_set(field, ids):
        found = labels.get(field.related_model, {})
        names = sorted(found[pk] for pk in ids if pk in found)
        return "; ".join(names) or "—"

    entries = []
    for index, row in enumerate(rows[:limit]):
        previous = rows[index + 1] if index + 1 < len(rows) else None
        changes = []
        if row.history_type == "~" and previous is not None:
            for field in fields:
                old, new = show(field, getattr(previous, field.attname)), show(field, getattr(row, field.attname))
                if old != new:
                    changes.append({"label": _label(field), "old": old, "new": new})
            for field in m2m_fields:
                old = show_set(field, m2m_values[field.name][previous.history_id])
                new = show_set(field, m2m_values[field.name][row.history_id])
                if old != new:
                    changes.append({"label": _label(field), "old": old, "new": new})
        entries.append(
            {
                "when": row.history_date,
                "who": (row.history_user.display_name() if row.history_user else "the system") if show_people else "",
                "action": ACTIONS.get(row.history_type, row.history_type),
                "changes": changes,
            }
        )
    return entries, truncated


def _label(field) -> str:
    name = str(field.verbose_name)
    return name[:1].upper() + name[1:]
