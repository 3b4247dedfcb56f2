"""The logging forms. They only read and check what was typed; the services in
`engagements.services` validate against the model, check the policy and write."""

import uuid

from django import forms

from accounts.models import Role, User
from accounts.policy import home_city_ids, is_admin
from cities.forms import CityPickerField, DateInput, OrganizationPickerField, PlainLabels, owner_city_field
from cities.models import Topic
from contacts.forms import ContactPickerField

from .models import Agreement, Engagement, FollowUp, Participant, Visibility

RELATIONS = ("counterpart_cities", "counterpart_organizations", "topics")
# Each visibility with who will see the record (SPEC §2), one line per choice on the forms.
VISIBILITY_CHOICES = [
    (Visibility.PUBLIC, "Public — anyone, including the public portal, partners and visitors who are not signed in"),
    (
        Visibility.INTERNAL,
        "Internal — every signed-in city staff member, federal liaisons and administrators; not partners or the public",
    ),
    (Visibility.RESTRICTED, "Restricted — only this city's own staff, federal liaisons and administrators"),
]


class CityRecordForm(PlainLabels, forms.ModelForm):
    """What agreements and engagements share: owner city, counterparts, topics, visibility and
    the version the person started editing from."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # A new record's form carries a one-time token: sent twice, it makes one record.
    submission = forms.UUIDField(widget=forms.HiddenInput, required=False)
    counterpart_cities = CityPickerField(multiple=True, required=False, label="Counterpart cities")
    counterpart_organizations = OrganizationPickerField(
        multiple=True, required=False, label="Counterpart organisations"
    )
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.order_by("name"),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        city = owner_city_field(user)
        if not is_admin(user) and len(home_city_ids(user)) == 1:
            # One home city: nothing to choose, so no field to tab through.
            city.widget = forms.HiddenInput()
            city.initial = next(iter(home_city_ids(user)))
        self.fields["city"] = city
        self.fields["kind"].choices = [("", "Choose a kind…"), *self._meta.model.Kind.choices]
        self.fields["visibility"].choices = VISIBILITY_CHOICES
        self.fields["visibility"].widget = forms.RadioSelect(choices=VISIBILITY_CHOICES)
        self.fields["visibility"].help_text = "Who will see this record, on every page, list, export and the API."
        self.fields["title"].widget.attrs.update(autofocus=True)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        else:
            self.fields["submission"].initial = uuid.uuid4()

    def _post_clean(self):
        # The model is validated by the service, against the record as it is in the database
        # when the write happens; validating a copy here would only report the same twice.
        pass

    @property
    def single_city(self):
        return self.fields["city"].widget.is_hidden

    def clean(self):
        data = super().clean()
        city = data.get("city")
        if city is not None and any(other.pk == city.pk for other in data.get("counterpart_cities") or []):
            self.add_error("counterpart_cities", f"{city} is this record's own city, so it cannot be a counterpart.")
        return data

    def service_data(self, scalar_fields) -> dict:
        data = {name: self.cleaned_data[name] for name in scalar_fields}
        data.update({name: list(self.cleaned_data[name]) for name in RELATIONS})
        return data

    def changes_since(self, current) -> list[dict]:
        """The fields where `current` (saved by someone else meanwhile) and this form differ."""
        differences = []
        for name, field in self.fields.items():
            if name in ("version", "submission") or name not in self.cleaned_data:
                continue
            theirs, yours = _comparable(getattr(current, name)), _comparable(self.cleaned_data[name])
            if theirs != yours:
                differences.append(
                    {
                        "field": name,
                        "label": field.label or name.replace("_", " ").capitalize(),
                        "theirs": _display(current, name, getattr(current, name)),
                        "yours": _display(current, name, self.cleaned_data[name]),
                    }
                )
        return differences


def _comparable(value):
    if hasattr(value, "all"):
        value = list(value.all())
    if isinstance(value, list | tuple | set):
        return frozenset(getattr(item, "pk", item) for item in value)
    if hasattr(value, "pk"):
        return value.pk
    return "" if value is None else value


def _display(record, name, value) -> str:
    if hasattr(value, "all"):
        value = list(value.all())
    if isinstance(value, list | tuple | set):
        return "; ".join(sorted(str(item) for item in value)) or "—"
    field = record._meta.get_field(name)
    if field.choices and value not in (None, ""):
        return str(dict(field.choices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return "—" if value in (None, "") else str(value)


class EngagementForm(CityRecordForm):
    location_city = CityPickerField(multiple=False, required=False, label="Location city")

    class Meta:
        model = Engagement
        fields = [
            "city",
            "title",
            "kind",
            "status",
            "start_date",
            "end_date",
            "location_city",
            "venue",
            "counterpart_cities",
            "counterpart_organizations",
            "topics",
            "summary",
            "outcomes",
            "agreement",
            "visibility",
            "federal_coordination_requested",
        ]
        labels = {
            "start_date": "Start date",
            "end_date": "End date",
            "federal_coordination_requested": "Request federal coordination",
        }
        help_texts = {
            "end_date": "Leave empty for a one-day engagement.",
            "federal_coordination_requested": "Tick to ask the Office of Subnational Diplomacy to coordinate.",
            "outcomes": "What was agreed or achieved.",
        }
        widgets = {
            "start_date": DateInput,
            "end_date": DateInput,
            "summary": forms.Textarea(attrs={"rows": 4}),
            "outcomes": forms.Textarea(attrs={"rows": 3}),
        }

    SCALARS = (
        "city",
        "title",
        "kind",
        "status",
        "start_date",
        "end_date",
        "location_city",
        "venue",
        "summary",
        "outcomes",
        "agreement",
        "visibility",
        "federal_coordination_requested",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        agreements = Agreement.objects.visible_to(user).order_by("title")
        if is_admin(user):
            # Every agreement in the country would be too long a list: offer those of the
            # record's city, once it is known.
            chosen = str(self.data.get("city", "")) if self.is_bound else ""
            city_id = int(chosen) if chosen.isdigit() else self.instance.city_id if self.instance.pk else None
            agreements = agreements.filter(city_id=city_id)
        else:
            agreements = agreements.filter(city_id__in=sorted(home_city_ids(user)))
        self.fields["agreement"].queryset = agreements
        self.fields["agreement"].label = "Related agreement"
        self.fields["agreement"].empty_label = "None"

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date cannot be before the start date.")
        agreement, city = data.get("agreement"), data.get("city")
        if agreement and city and agreement.city_id != city.pk:
            self.add_error("agreement", "Choose an agreement of the same city.")
        return data

    def service_data(self, scalar_fields=SCALARS) -> dict:
        return super().service_data(scalar_fields)


class AgreementForm(CityRecordForm):
    url = forms.URLField(required=False, max_length=500, assume_scheme="https", label="Link to the text")

    class Meta:
        model = Agreement
        fields = [
            "city",
            "title",
            "kind",
            "status",
            "signed_on",
            "effective_on",
            "expires_on",
            "renewal_due_on",
            "authorized_by",
            "counterpart_cities",
            "counterpart_organizations",
            "topics",
            "summary",
            "url",
            "visibility",
        ]
        labels = {
            "signed_on": "Signed on",
            "effective_on": "Effective from",
            "expires_on": "Expires on",
            "renewal_due_on": "Renewal due on",
            "authorized_by": "Authorised by",
            "url": "Link to the text",
        }
        widgets = {
            "signed_on": DateInput,
            "effective_on": DateInput,
            "expires_on": DateInput,
            "renewal_due_on": DateInput,
            "summary": forms.Textarea(attrs={"rows": 4}),
        }

    SCALARS = (
        "city",
        "title",
        "kind",
        "status",
        "signed_on",
        "effective_on",
        "expires_on",
        "renewal_due_on",
        "authorized_by",
        "summary",
        "url",
        "visibility",
    )

    def clean(self):
        data = super().clean()
        signed, expires = data.get("signed_on"), data.get("expires_on")
        if signed and expires and expires < signed:
            self.add_error("expires_on", "An agreement cannot expire before it is signed.")
        return data

    def service_data(self, scalar_fields=SCALARS) -> dict:
        return super().service_data(scalar_fields)


class ParticipantContactField(ContactPickerField):
    """A row's contact; an untouched picker leaves an empty extra row empty."""

    def has_changed(self, initial, data):
        data = data or {}
        return bool(data.get("ids") or (data.get("query") or "").strip()) or bool(initial)


class ParticipantForm(PlainLabels, forms.Form):
    contact = ParticipantContactField(
        multiple=False,
        required=False,
        label="Contact",
        help_text="Pick them from the contacts to link this participant; name, title and organisation "
        "are filled from the contact when left empty.",
    )
    name = forms.CharField(max_length=200, required=False)
    title = forms.CharField(max_length=200, required=False, label="Title or role")
    organization = forms.CharField(max_length=255, required=False, label="Organisation")
    side = forms.ChoiceField(choices=Participant.Side.choices, initial=Participant.Side.HOME)
    add_contact = forms.BooleanField(
        required=False, label="Add to contacts", help_text="Keep this person in the city's contacts and link them."
    )

    def clean(self):
        data = super().clean()
        contact = data.get("contact")
        if contact is not None:
            for name in ("name", "title", "organization"):
                if not (data.get(name) or "").strip():
                    data[name] = getattr(contact, name)
            data["add_contact"] = False
        if not (data.get("name") or "").strip() and "name" not in self.errors:
            self.add_error("name", "Give the participant's name, or pick a contact.")
        return data


ParticipantFormSet = forms.formset_factory(ParticipantForm, extra=1, can_delete=True, max_num=200, validate_max=True)


def participant_initial(engagement) -> list[dict]:
    return [
        {"name": p.name, "title": p.title, "organization": p.organization, "side": p.side, "contact": p.contact_id}
        for p in engagement.participants.all()
    ]


def participant_data(formset) -> list[dict]:
    """The participants as the service takes them; a row ticked "Add to contacts" (and linked to
    none) carries `add_contact`, for the view to create the contact first."""
    deleted = set(map(id, formset.deleted_forms))
    return [
        {key: value for key, value in form.cleaned_data.items() if key != "DELETE"}
        for form in formset.forms
        if id(form) not in deleted and form.cleaned_data
    ]


class FollowUpForm(PlainLabels, forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = ["description", "due_on", "assignee"]
        labels = {"description": "What needs doing", "due_on": "Due on"}
        widgets = {"due_on": DateInput, "description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, engagement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(
            role=Role.STAFF, home_cities=engagement.city_id, is_active=True
        ).order_by("username")
        self.fields["assignee"].label_from_instance = lambda user: user.display_name()
        self.fields["assignee"].empty_label = "Nobody yet"

    def _post_clean(self):
        pass
