"""The kinds of record global search finds. Each reads through the one policy (`accounts.policy`):
agreements and engagements by `visible_q`, contacts only for internal readers (`restrict`),
reference data (cities, networks) and organisations for everyone."""

from django.db.models import Case, Exists, F, FloatField, OuterRef, Q, Value, When
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import Truncator

from accounts.policy import reads_people, restrict, visible_q
from cities.matching import matching_ids, name_key
from cities.models import City, CityName, Network, Organization
from contacts.models import Contact
from engagements.models import Agreement, Engagement

from .registry import Kind, register
from .text import Folded

SNIPPET_WORDS = 30


def _short(text: str) -> str:
    return Truncator(" ".join((text or "").split())).words(SNIPPET_WORDS)


def counterparts(model):
    """A record whose counterpart city (any of its names, `cities.matching`) or organisation
    (inside its name) matches a word."""
    owner = f"{model._meta.model_name}_id"
    cities = model.counterpart_cities.through
    organizations = model.counterpart_organizations.through

    def related(word: str):
        city = cities.objects.filter(**{owner: OuterRef("pk")}, city_id__in=matching_ids(word))
        organization = (
            organizations.objects.filter(**{owner: OuterRef("pk")})
            .annotate(_name=Folded("organization__name"))
            .filter(_name__contains=word)
        )
        return Exists(city) | Exists(organization)

    return related


def city_rank(text: str):
    """A city named exactly so first, then by population (0.6..0.62 for the largest)."""
    exact = CityName.objects.filter(city_id=OuterRef("pk"), key=name_key(text), whole=True)
    return Case(When(Exists(exact), then=Value(1.0)), default=Value(0.6), output_field=FloatField()) + Cast(
        Coalesce(F("population"), 0), FloatField()
    ) / Value(1e9)


def _organization_url(organization) -> str:
    # No page of its own: the records with it as counterpart.
    return reverse("search") + "?" + urlencode({"q": organization.name})


def register_all() -> None:
    register(
        Kind(
            name="agreement",
            label="Agreements",
            queryset=lambda user: Agreement.objects.filter(visible_q(user)).select_related("city"),
            texts=(("title", "A"), ("summary", "B")),
            related=counterparts(Agreement),
            title=lambda record: record.title,
            snippet=lambda record: (
                f"{record.city.label} · {record.get_kind_display()} · {_short(record.summary)}".rstrip(" ·")
            ),
            url=lambda record: reverse("agreement-detail", args=[record.pk]),
            order=1,
        )
    )
    register(
        Kind(
            name="engagement",
            label="Engagements",
            queryset=lambda user: Engagement.objects.filter(visible_q(user)).select_related("city"),
            texts=(("title", "A"), ("summary", "B")),
            related=counterparts(Engagement),
            title=lambda record: record.title,
            snippet=lambda record: (
                f"{record.city.label} · {record.start_date:%Y-%m-%d} · {_short(record.summary)}".rstrip(" ·")
            ),
            url=lambda record: reverse("engagement-detail", args=[record.pk]),
            order=2,
        )
    )
    register(
        Kind(
            name="organization",
            label="Organisations",
            queryset=lambda user: Organization.objects.select_related("country"),
            names=("name",),
            title=lambda record: record.name,
            snippet=lambda record: " · ".join(
                part for part in (record.get_kind_display(), record.country.name if record.country else "") if part
            ),
            url=_organization_url,
            order=3,
        )
    )
    register(
        Kind(
            name="contact",
            label="Contacts",
            # People's data: internal readers only (SPEC §2, §8.4).
            queryset=lambda user: (
                restrict(Contact.objects.select_related("home_city"), user) if reads_people(user) else None
            ),
            names=("name", "organization"),
            title=lambda record: record.name,
            snippet=lambda record: " · ".join(part for part in (record.title, record.organization) if part),
            url=lambda record: reverse("contact-detail", args=[record.pk]),
            order=4,
        )
    )
    register(
        Kind(
            name="city",
            label="Cities",
            queryset=lambda user: City.objects.select_related("country").defer("alternate_names"),
            # Any of its names, in any script, from a word start: the one city matcher.
            match=lambda text: Q(pk__in=matching_ids(text)),
            rank=city_rank,
            title=lambda record: record.label,
            snippet=lambda record: (
                f"{record.country.name} · population {record.population:,}"
                if record.population
                else record.country.name
            ),
            url=lambda record: reverse("city-profile", args=[record.slug]),
            order=5,
        )
    )
    register(
        Kind(
            name="network",
            label="Networks",
            queryset=lambda user: Network.objects.all(),
            names=("name", "acronym"),
            texts=(("description", "C"),),
            title=lambda record: f"{record.name} ({record.acronym})" if record.acronym else record.name,
            snippet=lambda record: _short(record.description),
            url=lambda record: reverse("network-detail", args=[record.slug]),
            order=6,
        )
    )
