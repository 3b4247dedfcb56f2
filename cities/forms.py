"""Forms for city-side records, and the pickers every record form uses to choose cities and
organisations.

A picker works without JavaScript: chosen records are checked checkboxes named after the model
field (`counterpart_cities=12`), and a text box next to them (`counterpart_cities_query`) takes
what a person would write (`Nagoya, JP; Berlin, DE` — the notation of imports). With JavaScript
the text box becomes a type-ahead that adds chips as you pick, so the server rarely has to guess.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from accounts.policy import home_city_ids, is_admin

from .matching import is_named
from .models import City, InternationalAffairsOffice, Network, NetworkMembership, Organization
from .references import AmbiguousCity, CityReferenceError, CityResolver, describe

QUERY_SUFFIX = "_query"
SUGGESTION_LIMIT = 8


class PlainLabels:
    """Labels without a trailing colon: the layout already sets them apart."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class PickerWidget(forms.Widget):
    """Chips for the chosen records plus a text box for adding more (see the module docstring)."""

    template_name = "widgets/picker.html"

    def __init__(self, *, model, search_url_name: str, multiple: bool, placeholder: str = "", attrs=None):
        super().__init__(attrs)
        self.model = model
        self.search_url_name = search_url_name
        self.multiple = multiple
        self.placeholder = placeholder
        # Filled by the field when its query could not be resolved: offered as unchecked chips.
        self.candidates: list = []

    def value_from_datadict(self, data, files, name):
        ids = data.getlist(name) if hasattr(data, "getlist") else data.get(name) or []
        if not isinstance(ids, list | tuple):
            ids = [ids]
        return {"ids": [str(value) for value in ids if str(value).strip()], "query": data.get(name + QUERY_SUFFIX, "")}

    def value_omitted_from_data(self, data, files, name):
        return name not in data and (name + QUERY_SUFFIX) not in data

    def format_value(self, value):
        if value is None:
            return {"ids": [], "query": ""}
        if isinstance(value, dict):
            return value
        if isinstance(value, self.model):
            return {"ids": [str(value.pk)], "query": ""}
        if hasattr(value, "all") or isinstance(value, list | tuple | set):
            items = value.all() if hasattr(value, "all") else value
            return {"ids": [str(getattr(item, "pk", item)) for item in items], "query": ""}
        return {"ids": [str(value)], "query": ""}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        value = self.format_value(value)
        ids = [int(pk) for pk in value["ids"] if str(pk).isdigit()]
        found = {obj.pk: obj for obj in self.model._default_manager.filter(pk__in=ids)}
        chosen = [found[pk] for pk in dict.fromkeys(ids) if pk in found]
        chosen_ids = {obj.pk for obj in chosen}
        context["widget"].update(
            chosen=chosen,
            candidates=[obj for obj in self.candidates if obj.pk not in chosen_ids],
            query=value["query"],
            query_name=name + QUERY_SUFFIX,
            multiple=self.multiple,
            search_url_name=self.search_url_name,
            placeholder=self.placeholder,
            describedby=context["widget"]["attrs"].get("aria-describedby", ""),
            invalid=context["widget"]["attrs"].get("aria-invalid") == "true",
        )
        return context

    def id_for_label(self, id_):
        return id_ + QUERY_SUFFIX if id_ else id_


class PickerField(forms.Field):
    """Chosen ids plus resolved text -> a list of records (or one record, or None)."""

    model = None

    def __init__(self, *, multiple: bool, search_url_name: str, placeholder: str = "", **kwargs):
        self.multiple = multiple
        kwargs.setdefault(
            "widget",
            PickerWidget(model=self.model, search_url_name=search_url_name, multiple=multiple, placeholder=placeholder),
        )
        super().__init__(**kwargs)

    def resolve_text(self, text: str) -> list:
        raise NotImplementedError

    def to_python(self, value):
        value = value or {"ids": [], "query": ""}
        if not isinstance(value, dict):
            value = self.widget.format_value(value)
        ids = []
        for pk in value.get("ids", []):
            if not str(pk).isdigit():
                raise ValidationError("Choose from the suggestions, or type the name.")
            ids.append(int(pk))
        found = {obj.pk: obj for obj in self.model._default_manager.filter(pk__in=ids)}
        if len(found) != len(set(ids)):
            raise ValidationError("One of the chosen entries no longer exists.")
        records = [found[pk] for pk in dict.fromkeys(ids)]
        query = (value.get("query") or "").strip()
        if query:
            typed = self.resolve_text(query)
            if not self.multiple:
                # Typing a new one replaces the one chosen before.
                records = []
            records += [obj for obj in typed if obj.pk not in {r.pk for r in records}]
        if self.multiple:
            return records
        if len(records) > 1:
            raise ValidationError("Choose only one.")
        return records[0] if records else None

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def has_changed(self, initial, data):
        return True


class CityPickerField(PickerField):
    model = City

    def __init__(self, **kwargs):
        kwargs.setdefault("placeholder", "Type a city, e.g. Nagoya")
        kwargs.setdefault("search_url_name", "city-search")
        super().__init__(**kwargs)

    def resolve_text(self, text):
        resolver = CityResolver(City.objects.select_related("country"))
        cities, errors = [], []
        for part in (p.strip() for p in text.split(";")):
            if not part:
                continue
            try:
                cities.append(resolver.resolve(part))
            except AmbiguousCity as error:
                self.widget.candidates = error.candidates[:SUGGESTION_LIMIT]
                errors.append(f"“{part}” could be several cities: tick the one you mean below.")
            except CityReferenceError:
                # A bare name: take it when it names exactly one city or one dominant city.
                matches = list(City.objects.search(part)[:SUGGESTION_LIMIT])
                exact = [city for city in matches if is_named(city, part)]
                if len(exact) == 1 or (exact and (exact[0].population or 0) >= 10 * (exact[1].population or 0)):
                    cities.append(exact[0])
                elif matches:
                    self.widget.candidates = matches
                    errors.append(f"Which “{part}”? Tick one of the cities below, or write “Name, CC”.")
                else:
                    errors.append(f"No city is called “{part}”. Write it as “Name, CC”, e.g. “Berlin, DE”.")
        if errors:
            raise ValidationError(errors)
        return cities


class OrganizationPickerField(PickerField):
    model = Organization

    def __init__(self, **kwargs):
        kwargs.setdefault("placeholder", "Type an organisation's name")
        kwargs.setdefault("search_url_name", "organization-search")
        super().__init__(**kwargs)

    def resolve_text(self, text):
        found, errors = [], []
        for part in (p.strip() for p in text.split(";")):
            if not part:
                continue
            matches = list(Organization.objects.filter(name__iexact=part)[:SUGGESTION_LIMIT]) or list(
                search_organizations(part)[:SUGGESTION_LIMIT]
            )
            if len(matches) == 1:
                found.append(matches[0])
            elif matches:
                self.widget.candidates = matches
                errors.append(f"Several organisations match “{part}”: tick the one you mean below.")
            else:
                errors.append(f"No organisation is called “{part}”: add it under “New organisation”.")
        if errors:
            raise ValidationError(errors)
        return found


def search_organizations(query: str):
    words = query.split()
    if not words:
        return Organization.objects.none()
    condition = Q()
    for word in words:
        condition &= Q(name__icontains=word)
    return Organization.objects.filter(condition).select_related("country").order_by("name")


def describe_city(city: City) -> str:
    return describe(city)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def home_city_choices(user):
    """The cities a user may file records for; an admin's are all cities (a picker then)."""
    return City.objects.filter(pk__in=sorted(home_city_ids(user))).order_by("name")


def owner_city_field(user, *, label="City"):
    """Admins pick any city; staff choose among their home cities (preselected when one)."""
    if is_admin(user):
        return CityPickerField(multiple=False, label=label)
    return forms.ModelChoiceField(queryset=home_city_choices(user), label=label, empty_label=None)


class OrganizationForm(PlainLabels, forms.ModelForm):
    """A new counterpart organisation, created inline from a record form (prefix `organization`)."""

    website = forms.URLField(required=False, max_length=200, assume_scheme="https")

    class Meta:
        model = Organization
        fields = ["name", "kind", "country", "website"]
        labels = {"name": "Organisation name"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].required = False
        self.fields["country"].queryset = self.fields["country"].queryset.order_by("name")

    def _post_clean(self):
        # The service validates against the model; the form only checks what was typed.
        pass


class MembershipForm(PlainLabels, forms.Form):
    network = forms.ModelChoiceField(queryset=Network.objects.order_by("name"))
    role = forms.ChoiceField(choices=NetworkMembership.Role.choices, initial=NetworkMembership.Role.MEMBER)
    joined_on = forms.DateField(required=False, widget=DateInput, label="Joined on")
    left_on = forms.DateField(
        required=False, widget=DateInput, label="Left on", help_text="Leave empty while the membership is active."
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"city": owner_city_field(user), **self.fields}

    def clean(self):
        data = super().clean()
        joined, left = data.get("joined_on"), data.get("left_on")
        if joined and left and left < joined:
            self.add_error("left_on", "The membership cannot end before it began.")
        return data


class OfficeForm(PlainLabels, forms.ModelForm):
    website = forms.URLField(required=False, max_length=200, assume_scheme="https")

    class Meta:
        model = InternationalAffairsOffice
        fields = [
            "name",
            "established_on",
            "head_name",
            "head_title",
            "staff_count",
            "website",
            "email",
            "phone",
            "mandate",
            "is_active",
        ]
        labels = {
            "name": "Office name",
            "head_name": "Head of office",
            "head_title": "Head's title",
            "is_active": "The office is active",
        }
        widgets = {"established_on": DateInput, "mandate": forms.Textarea(attrs={"rows": 4})}

    def _post_clean(self):
        pass
