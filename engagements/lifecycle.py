"""The agreement lifecycle (SPEC §8.3): `last_activity_on`, lapsed and dormant agreements.

`last_activity_on` is derived: the latest `start_date` of a non-cancelled engagement linked to the
agreement, or of the same city with one of the agreement's counterpart cities (planned ones
count: a visit being prepared is activity). `refresh_last_activity` recomputes it set-wise, for
some agreements (after a write, from the compliance app's subscriber) or all of them (the daily
scan, which also catches what a deleted engagement or a moved link changed), and writes only
the rows whose value differs.
"""

import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Q

from .models import Agreement, Engagement
from .write_path import write_path

DORMANT_AFTER_YEARS = 3
LAPSING_STATUSES = list(Agreement.LAPSING_STATUSES)


def lapsed_q(today: dt.date) -> Q:
    return Q(status__in=LAPSING_STATUSES, expires_on__lt=today)


def dormant_q(today: dt.date) -> Q:
    """No engagement under it or with its counterparts for three years (or ever)."""
    try:
        since = today.replace(year=today.year - DORMANT_AFTER_YEARS)
    except ValueError:  # 29 February
        since = today.replace(year=today.year - DORMANT_AFTER_YEARS, day=28)
    return Q(last_activity_on__isnull=True) | Q(last_activity_on__lt=since)


def agreements_touched_by(engagement_ids: Iterable[int]) -> list[int]:
    """The agreements whose `last_activity_on` these engagements may change: those they are
    linked to, and those of their city sharing a counterpart city with them."""
    ids = sorted(set(engagement_ids))
    if not ids:
        return []
    linked = Engagement.objects.filter(agreement__isnull=False, id__any_of=ids).values_list("agreement_id", flat=True)
    # (home city, counterpart city) pairs the engagements met, then the agreements of those home
    # cities with those counterparts: two statements for a chunk of ten thousand engagements.
    pairs = set(
        Engagement.counterpart_cities.through.objects.filter(engagement_id__any_of=ids).values_list(
            "engagement__city_id", "city_id"
        )
    )
    candidates = Agreement.counterpart_cities.through.objects.filter(
        city_id__in={counterpart for _, counterpart in pairs}, agreement__city_id__in={home for home, _ in pairs}
    ).values_list("agreement_id", "agreement__city_id", "city_id")
    shared = (
        {agreement for agreement, home, counterpart in candidates if (home, counterpart) in pairs} if pairs else set()
    )
    return sorted({*linked, *shared})


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _id_filter(column: str, ids: list[int]) -> tuple[str, list]:
    """`AND <column> is one of ids` and its parameters."""
    if connection.vendor == "postgresql":
        return f"AND {column} = ANY(%s)", [ids]
    return f"AND {column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _activity(only_linked: str = "", only_shared: str = "") -> str:
    """The `activity` CTE: (agreement, day) for every non-cancelled engagement linked to an
    agreement, or of its city with one of its counterpart cities, narrowed by the two filters
    (over `e`, the engagement, and `ac`, the agreement's counterpart row)."""
    agreement, engagement = _table(Agreement), _table(Engagement)
    agreement_cities = _table(Agreement.counterpart_cities.through)
    engagement_cities = _table(Engagement.counterpart_cities.through)
    cancelled = Engagement.Status.CANCELLED.value
    # Table names come from the models' metadata; the status is a constant.
    return f"""
        activity AS (
            SELECT e.agreement_id AS agreement_id, e.start_date AS day
              FROM {engagement} e
             WHERE e.agreement_id IS NOT NULL AND e.status <> '{cancelled}' {only_linked}
            UNION ALL
            SELECT ac.agreement_id, e.start_date
              FROM {agreement_cities} ac
              JOIN {agreement} a2 ON a2.id = ac.agreement_id
              JOIN {engagement_cities} ec ON ec.city_id = ac.city_id
              JOIN {engagement} e ON e.id = ec.engagement_id AND e.city_id = a2.city_id
             WHERE e.status <> '{cancelled}' {only_shared}
        )"""  # noqa: S608


def raise_last_activity(engagement_ids: Iterable[int]) -> int:
    """After these engagements were created: raise `last_activity_on` of the agreements they
    touch to their latest start date; returns how many changed. A new engagement can only add
    activity, so its own dates are all there is to read. A recompute (`refresh_last_activity`)
    reads every engagement of the agreements' cities with their counterparts, and an import
    chunk of ten thousand rows recomputed the agreements its earlier chunks had touched: a fifth
    of a 100,000-row import, growing with every chunk. An engagement changed or deleted may
    lower the date: those go through `refresh_last_activity`."""
    ids = sorted(set(engagement_ids))
    if not ids:
        return 0
    agreement, engagement = _table(Agreement), _table(Engagement)
    agreement_cities = _table(Agreement.counterpart_cities.through)
    engagement_cities = _table(Engagement.counterpart_cities.through)
    last = connection.ops.quote_name("last_activity_on")
    cancelled = Engagement.Status.CANCELLED.value
    only_new, params = _id_filter("e.id", ids)
    # The shared-counterpart activity from each (home city, counterpart city) pair the new
    # engagements met, with its latest date, then the home city's agreements with that
    # counterpart: read the other way round (every agreement naming the counterpart, whatever
    # its city, then kept by city), a chunk of ten thousand engagements with large counterpart
    # cities stepped over millions of rows, 0.3 s per chunk at a million engagements.
    sql = f"""
        WITH new AS (
            SELECT e.id, e.agreement_id, e.city_id, e.start_date AS day
              FROM {engagement} e
             WHERE e.status <> '{cancelled}' {only_new}
        ),
        met AS (
            SELECT new.city_id AS home, ec.city_id AS counterpart, MAX(new.day) AS day
              FROM new JOIN {engagement_cities} ec ON ec.engagement_id = new.id
             GROUP BY new.city_id, ec.city_id
        ),
        activity AS (
            SELECT agreement_id, day FROM new WHERE agreement_id IS NOT NULL
            UNION ALL
            SELECT ac.agreement_id, met.day
              FROM met
              JOIN {agreement} a2 ON a2.city_id = met.home
              JOIN {agreement_cities} ac ON ac.agreement_id = a2.id AND ac.city_id = met.counterpart
        ),
        latest AS (SELECT agreement_id, MAX(day) AS day FROM activity GROUP BY agreement_id)
        UPDATE {agreement} SET {last} = latest.day
          FROM latest
         WHERE {agreement}.id = latest.agreement_id
           AND ({agreement}.{last} IS NULL OR {agreement}.{last} < latest.day)
    """  # noqa: S608
    with write_path(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def refresh_last_activity(agreement_ids: Iterable[int] | None = None) -> int:
    """Recompute `last_activity_on` of these agreements (all when None); returns how many changed.
    One statement: the latest dates are grouped in one pass over the engagements (a hash join,
    not a lookup per agreement), and only differing rows are written."""
    ids = None if agreement_ids is None else sorted(set(agreement_ids))
    if ids == []:
        return 0
    quote = connection.ops.quote_name
    agreement = _table(Agreement)
    params: list = []
    only_linked = only_shared = only_target = ""
    if ids is not None:
        only_linked, linked = _id_filter("e.agreement_id", ids)
        only_shared, shared = _id_filter("ac.agreement_id", ids)
        only_target, target = _id_filter("a.id", ids)
        params = [*linked, *shared, *target]
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    # Table names come from the models' metadata; values are parameters.
    sql = f"""
        WITH {_activity(only_linked, only_shared)},
        latest AS (
            SELECT a.id AS agreement_id, MAX(activity.day) AS day
              FROM {agreement} a LEFT JOIN activity ON activity.agreement_id = a.id
             WHERE TRUE {only_target}
             GROUP BY a.id
        )
        UPDATE {agreement} SET {quote("last_activity_on")} = latest.day
          FROM latest
         WHERE {agreement}.id = latest.agreement_id
           AND {agreement}.{quote("last_activity_on")} {distinct} latest.day
    """  # noqa: S608
    with write_path(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
