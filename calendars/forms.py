"""The form that issues a feed: a name for it and what its URL narrows it to."""

from urllib.parse import urlencode

from django import forms

from accounts.policy import home_city_ids, portfolio_states
from accounts.services import US_STATES
from cities.models import City

from .filters import KINDS

STATE_CHOICES = [(f"US-{code}", f"US-{code}") for code in sorted(US_STATES)]


class IssueFeedForm(forms.Form):
    label = forms.CharField(
        label="Name",
        max_length=100,
        required=False,
        help_text="For you to tell your feeds apart, e.g. “Work phone”.",
    )
    cities = forms.ModelMultipleChoiceField(
        label="Only these home cities",
        queryset=City.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        to_field_name="slug",
        help_text="None chosen: every city.",
    )
    portfolio = forms.BooleanField(label="Only my portfolio", required=False)
    states = forms.MultipleChoiceField(
        label="Only these states",
        choices=STATE_CHOICES,
        required=False,
        help_text="None chosen: every state.",
    )
    kinds = forms.MultipleChoiceField(
        label="Events",
        choices=list(KINDS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: all of them.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        homes = home_city_ids(user)
        if homes:
            self.fields["cities"].queryset = City.objects.filter(pk__in=sorted(homes)).order_by("name")
        else:
            del self.fields["cities"]
        # A liaison with a portfolio of states (not every state) may make a portfolio feed.
        self.portfolio = sorted(portfolio_states(user) or ())
        if self.portfolio:
            self.fields["portfolio"].help_text = f"{', '.join(self.portfolio)}: a portfolio feed."
        else:
            del self.fields["portfolio"]

    def chosen_states(self) -> list[str]:
        states = set(self.cleaned_data["states"])
        if self.cleaned_data.get("portfolio"):
            states |= set(self.portfolio)
        return sorted(states)

    def chosen_kinds(self) -> list[str]:
        """The kinds of event chosen, in KINDS order; none when all (or none) are chosen."""
        chosen = set(self.cleaned_data["kinds"])
        return [] if chosen == set(KINDS) else [kind for kind in KINDS if kind in chosen]

    def feed_query(self) -> str:
        """The feed URL's query for the chosen filters (see `filters.parse_filters`)."""
        params = [("city", city.slug) for city in self.cleaned_data.get("cities") or []]
        params += [("state", state) for state in self.chosen_states()]
        if self.chosen_kinds():
            params.append(("kinds", ",".join(self.chosen_kinds())))
        return urlencode(params)

    def describe(self) -> str:
        """The chosen filters in words, for the list of feeds."""
        parts = []
        if self.cleaned_data.get("cities"):
            parts.append(", ".join(city.name for city in self.cleaned_data["cities"]))
        if self.chosen_states():
            parts.append(", ".join(self.chosen_states()))
        if self.chosen_kinds():
            parts.append(", ".join(KINDS[kind].lower() for kind in self.chosen_kinds()))
        return "; ".join(parts)
