"""Global search (SPEC §8.1): one box over every kind of record the user may see, ranked.

Each kind's matches are its policy-restricted records (`registry.Kind.queryset`) holding every
word of the query (prefixes of words in long texts by PostgreSQL full text, accents ignored;
inside names; or in a counterpart's name), ranked on one scale: full-text rank for texts, how
much of a name the query is for names. The hits of all kinds are one ranked `UNION ALL`, paged
in the database; the counts per kind count only those records.

Queries: one count per kind the user may search, one for the page, one per kind on the page.
"""

from dataclasses import dataclass
from functools import cached_property

from django.db.models import Case, F, FloatField, Q, Value, When

from cities.matching import name_key

from .registry import Kind, kinds
from .text import SearchRank, document, folded_annotations, full_text, name_rank, prefix_query, word_in_fields, words_of

# A text field's weight as a rank where full text is not available (SQLite).
PLAIN_WEIGHTS = {"A": 0.6, "B": 0.25, "C": 0.15, "D": 0.1}
RELATED_RANK = 0.1


@dataclass(frozen=True)
class Hit:
    kind: str
    kind_label: str
    id: int
    title: str
    snippet: str
    url: str
    rank: float


class Search:
    def __init__(self, user, text: str, kind: str | None = None):
        self.user = user
        self.text = " ".join((text or "").split())
        self.words = words_of(self.text)
        self.key = name_key(self.text)
        self.kinds = [k for k in kinds() if kind in (None, "", k.name)]
        self.scoped: dict[str, tuple[Kind, object]] = {}
        if not self.words:
            return
        for k in self.kinds:
            base = k.queryset(user)
            if base is not None:
                self.scoped[k.name] = (k, self._matching(k, base))

    def _matching(self, kind: Kind, queryset):
        if kind.match is not None:
            return queryset.filter(kind.match(self.text)).annotate(_rank=kind.rank(self.text))
        text_fields = tuple(name for name, _weight in kind.texts)
        if kind.names:
            queryset = queryset.annotate(**folded_annotations(kind.names))
        if kind.texts and full_text():
            queryset = queryset.annotate(_doc=document(kind.texts))
        elif kind.texts:
            queryset = queryset.annotate(**folded_annotations(text_fields))
        condition = Q()
        for word in self.words:
            one = Q()
            if kind.texts:
                one |= Q(_doc=prefix_query([word])) if full_text() else word_in_fields(word, text_fields)
            if kind.names:
                one |= word_in_fields(word, kind.names)
            if kind.related is not None:
                one |= kind.related(word)
            condition &= one
        return queryset.filter(condition).annotate(_rank=self._rank(kind, text_fields))

    def _rank(self, kind: Kind, text_fields):
        parts = []
        if kind.names:
            parts.append(name_rank(kind.names[0], self.key))
        if kind.texts and full_text():
            parts.append(SearchRank(F("_doc"), prefix_query(self.words, "|")))
        elif kind.texts:
            word = self.words[0]
            parts.append(
                Case(
                    *(
                        When(word_in_fields(word, (name,)), then=Value(PLAIN_WEIGHTS[weight]))
                        for name, weight in kind.texts
                    ),
                    default=Value(0.0),
                    output_field=FloatField(),
                )
            )
        rank = Value(RELATED_RANK, output_field=FloatField())
        for part in parts:
            rank = rank + part
        return rank

    @cached_property
    def counts(self) -> dict[str, int]:
        """Matches per kind, among the records the user may see (one query per kind)."""
        return {name: queryset.count() for name, (_kind, queryset) in self.scoped.items()}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def labels(self) -> list[tuple[str, str, int]]:
        """(kind, label, count) of every kind the user may search, in order."""
        return [(name, kind.label, self.counts[name]) for name, (kind, _qs) in self.scoped.items()]

    def hits(self, offset: int, limit: int) -> list[Hit]:
        """The hits ranked `offset` to `offset + limit`, best first (ties by kind, then id)."""
        if not self.scoped or limit <= 0:
            return []
        rows = [
            queryset.order_by()
            .annotate(hit_kind=Value(name), hit_id=F("pk"), hit_rank=F("_rank"))
            .values_list("hit_kind", "hit_id", "hit_rank")
            for name, (_kind, queryset) in self.scoped.items()
        ]
        union = rows[0].union(*rows[1:], all=True) if len(rows) > 1 else rows[0]
        page = list(union.order_by("-hit_rank", "hit_kind", "hit_id")[offset : offset + limit])
        wanted: dict[str, list[int]] = {}
        for name, pk, _rank in page:
            wanted.setdefault(name, []).append(pk)
        records = {}
        for name, ids in wanted.items():
            kind = self.scoped[name][0]
            # Read again through the policy: a hit is only ever a record the user may see.
            for record in kind.queryset(self.user).filter(pk__in=ids):
                records[(name, record.pk)] = record
        hits = []
        for name, pk, rank in page:
            record = records.get((name, pk))
            if record is None:
                continue
            kind = self.scoped[name][0]
            hits.append(
                Hit(
                    kind=name,
                    kind_label=kind.label,
                    id=pk,
                    title=kind.title(record),
                    snippet=kind.snippet(record),
                    url=kind.url(record),
                    rank=float(rank),
                )
            )
        return hits
