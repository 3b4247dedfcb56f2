"""One write path: agreements and engagements are written only by `engagements.services` (single
records) and `save_in_bulk` (imports), which share the rules and announce each committed write
once through `engagements.events.records_written`."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from engagements import events
from engagements.models import Agreement, Engagement
from engagements.services import BulkItem, save_agreement, save_engagement, save_in_bulk
from engagements.write_path import WriteOutsideServices
from tests import factories


def engagement_data(city, **extra):
    return {
        "city": city,
        "title": "Osaka trade mission",
        "kind": "trade_mission",
        "status": "planned",
        "start_date": dt.date(2026, 9, 14),
        **extra,
    }


@pytest.fixture
def heard():
    """Every `records_written` event, as (model name, created ids, changed ids)."""
    received = []

    def listen(sender, *, created, changed, **kwargs):
        received.append((sender.__name__, created, changed))

    events.records_written.connect(listen, dispatch_uid="test-listener")
    yield received
    events.records_written.disconnect(dispatch_uid="test-listener")


@pytest.mark.parametrize(
    "write",
    [
        lambda record: record.save(),
        lambda record: record.delete(),
        lambda record: type(record).objects.filter(pk=record.pk).update(title="Renamed"),
        lambda record: type(record).objects.filter(pk=record.pk).delete(),
        lambda record: type(record).objects.bulk_create([type(record)(city=record.city, title="x", kind="other")]),
        lambda record: type(record).objects.bulk_update([record], ["title"]),
        lambda record: type(record).objects.create(city=record.city, title="x", kind="other", status="planned"),
    ],
    ids=["save", "delete", "update", "queryset-delete", "bulk_create", "bulk_update", "create"],
)
@pytest.mark.parametrize("factory", [factories.AgreementFactory, factories.EngagementFactory])
def test_a_write_outside_the_services_is_refused(city_a, factory, write):
    record = factory(city=city_a, title="Untouched")

    with pytest.raises(WriteOutsideServices):
        write(record)

    record.refresh_from_db()
    assert record.title == "Untouched"
    assert type(record).objects.count() == 1


def test_an_engagement_cannot_link_another_citys_agreement(staff_a, city_a, city_b):
    elsewhere = factories.AgreementFactory(city=city_b, visibility="public")

    with pytest.raises(ValidationError) as refused:
        save_engagement(actor=staff_a, data=engagement_data(city_a, agreement=elsewhere))

    assert list(refused.value.message_dict) == ["agreement"]
    assert not Engagement.objects.exists()


def test_moving_an_engagement_to_another_city_keeps_the_agreement_rule(admin_user, city_a, city_b):
    own = factories.AgreementFactory(city=city_a)
    engagement = save_engagement(actor=admin_user, data=engagement_data(city_a, agreement=own))

    with pytest.raises(ValidationError) as refused:
        save_engagement(actor=admin_user, engagement=engagement, data={"city": city_b})

    assert "agreement" in refused.value.message_dict


def test_each_committed_write_is_announced_once(staff_a, city_a, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        engagement = save_engagement(actor=staff_a, data=engagement_data(city_a))
    with django_capture_on_commit_callbacks(execute=True):
        save_engagement(actor=staff_a, engagement=engagement, data={"venue": "City Hall"})
    with django_capture_on_commit_callbacks(execute=True):
        agreement = save_agreement(
            actor=staff_a, data={"city": city_a, "title": "Pact", "kind": "other", "status": "proposed"}
        )

    assert heard == [
        ("Engagement", [engagement.pk], []),
        ("Engagement", [], [engagement.pk]),
        ("Agreement", [agreement.pk], []),
    ]


def test_a_refused_write_announces_nothing(staff_a, city_a, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        save_engagement(actor=staff_a, data=engagement_data(city_a, end_date=dt.date(2026, 9, 1)))

    assert heard == []


def test_a_bulk_write_announces_its_records_in_one_event(staff_a, city_a, heard, django_capture_on_commit_callbacks):
    existing = save_engagement(actor=staff_a, data=engagement_data(city_a, title="Known"))
    heard.clear()
    items = [
        BulkItem(None, engagement_data(city_a, title="New one")),
        BulkItem(existing, {"venue": "Port of Los Angeles"}),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = save_in_bulk(Engagement, actor=staff_a, items=items)
    with django_capture_on_commit_callbacks(execute=True):
        unchanged = save_in_bulk(
            Engagement, actor=staff_a, items=[BulkItem(Engagement.objects.get(pk=existing.pk), {})]
        )

    created = Engagement.objects.get(title="New one")
    assert [outcome.result for outcome in outcomes] == ["created", "updated"]
    assert [outcome.result for outcome in unchanged] == ["unchanged"]
    assert heard == [("Engagement", [created.pk], [existing.pk])]


def test_bulk_and_single_writes_share_the_rules(staff_a, city_a, city_b, django_capture_on_commit_callbacks):
    other_city = factories.CityFactory(name="Austin", subdivision="US-TX")
    items = [
        BulkItem(None, engagement_data(city_a, title="Own city", end_date=dt.date(2026, 1, 1))),
        BulkItem(None, engagement_data(city_a, title="Counterpart"), {"counterpart_cities": [city_a]}),
        BulkItem(None, engagement_data(city_b, title="Not a home city")),
        BulkItem(None, engagement_data(city_a, title="Fine"), {"counterpart_cities": [other_city]}),
    ]

    outcomes = save_in_bulk(Engagement, actor=staff_a, items=items)

    assert [outcome.result for outcome in outcomes] == ["error", "error", "error", "created"]
    assert list(outcomes[0].error.message_dict) == ["end_date"]
    assert list(outcomes[1].error.message_dict) == ["counterpart_cities"]
    fine = Engagement.objects.get()
    assert (fine.title, fine.version, list(fine.counterpart_countries.values_list("iso2", flat=True))) == (
        "Fine",
        1,
        ["US"],
    )
    assert fine.history.count() == 1


def test_a_dry_run_in_bulk_writes_and_announces_nothing(staff_a, city_a, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = save_in_bulk(
            Agreement,
            actor=staff_a,
            items=[BulkItem(None, {"city": city_a, "title": "Draft", "kind": "other", "status": "proposed"})],
            dry_run=True,
        )

    assert [outcome.result for outcome in outcomes] == ["created"]
    assert not Agreement.objects.exists()
    assert heard == []


@pytest.mark.parametrize(
    ("model", "save", "data"),
    [
        (Engagement, save_engagement, {"title": "Osaka trade mission", "kind": "trade_mission", "status": "planned"}),
        (Agreement, save_agreement, {"title": "Sister city accord", "kind": "other", "status": "proposed"}),
    ],
)
def test_records_created_in_bulk_hold_what_a_single_save_gives_them(staff_a, city_a, model, save, data):
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "created_at", "updated_at")]
    items = [BulkItem(None, {"city": city_a, **data, "title": f"{data['title']} {n}"}) for n in range(3)]
    if model is Engagement:
        for n, item in enumerate(items):
            item.data["start_date"] = dt.date(2026, 9, 14 + n)

    save_in_bulk(model, actor=staff_a, items=items)
    single = save(actor=staff_a, data={**items[0].data, "title": "single"})

    expected = {name: getattr(single, name) for name in fields if name not in ("title",)}
    created = model.objects.exclude(pk=single.pk).order_by("pk")
    assert [record.title for record in created] == [item.data["title"] for item in items]
    for record in created:
        values = {name: getattr(record, name) for name in fields if name not in ("title",)}
        if model is Engagement:
            values.pop("start_date"), expected.pop("start_date", None)
        assert values == expected


@pytest.mark.postgres
def test_a_prepared_plan_writes_the_ids_it_reserved_and_is_stamped_when_written(staff_a, city_a, monkeypatch):
    from django.utils import timezone

    from engagements import bulk

    tricky = "tab\there, line\nbreak\r\n, back\\slash \\N and \\."
    items = [
        BulkItem(
            None,
            engagement_data(
                city_a,
                title=f"{tricky} {n}",
                summary=tricky,
                visibility="public",
                federal_coordination_requested=bool(n),
                end_date=dt.date(2026, 9, 15) if n else None,
            ),
            {"counterpart_cities": [factories.CityFactory(country=factories.country("JP"))]},
        )
        for n in range(2)
    ]
    planned = bulk.plan_in_bulk(Engagement, actor=staff_a, items=items, remembered={})
    bulk.prepare_planned(planned)
    reserved = [plan.instance.pk for _, plan in planned.plans]
    assert all(reserved) and not Engagement.objects.exists()

    written_at = timezone.now() + dt.timedelta(minutes=5)
    monkeypatch.setattr(bulk.timezone, "now", lambda: written_at)
    assert [outcome.result for outcome in bulk.write_planned(planned)] == ["created", "created"]

    records = list(Engagement.objects.order_by("pk"))
    assert [record.pk for record in records] == reserved
    assert [(r.title, r.summary, r.visibility, r.federal_coordination_requested, r.end_date) for r in records] == [
        (f"{tricky} 0", tricky, "public", False, None),
        (f"{tricky} 1", tricky, "public", True, dt.date(2026, 9, 15)),
    ]
    assert {(r.created_at, r.updated_at) for r in records} == {(written_at, written_at)}
    assert [list(r.counterpart_countries.values_list("iso2", flat=True)) for r in records] == [["JP"], ["JP"]]
    with connection.cursor() as cursor:
        cursor.execute("SELECT counterpart_country_codes FROM engagements_engagement ORDER BY id")
        assert cursor.fetchall() == [(["JP"],), (["JP"],)]


def test_titles_of_one_length_keep_their_own_text_and_each_too_long_one_its_own_count(staff_a, city_a):
    titles = ["Osaka mission", "Lyon festival", "T" * 301, "U" * 305, "Seoul summits"]
    remembered = {}
    outcomes = [
        save_in_bulk(
            Engagement,
            actor=staff_a,
            items=[BulkItem(None, engagement_data(city_a, title=title))],
            remembered=remembered,
        )[0]
        for title in titles
    ]

    assert [outcome.result for outcome in outcomes] == ["created", "created", "error", "error", "created"]
    assert [outcome.error.messages for outcome in outcomes[2:4]] == [
        ["Ensure this value has at most 300 characters (it has 301)."],
        ["Ensure this value has at most 300 characters (it has 305)."],
    ]
    assert sorted(Engagement.objects.values_list("title", flat=True)) == sorted(titles[:2] + titles[4:])
