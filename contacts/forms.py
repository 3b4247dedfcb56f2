"""The contact form, and the picker participants use to link to a contact."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from cities.forms import SUGGESTION_LIMIT, CityPickerField, PickerField, PlainLabels, owner_city_field

from .models import Contact, duplicate_key


class ContactForm(PlainLabels, forms.ModelForm):
    """A contact of a home city's directory. `confirm_duplicate` appears once the service has
    pointed out contacts of the same name and organisation."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    city = CityPickerField(multiple=False, required=False, label="Based in city")
    confirm_duplicate = forms.BooleanField(
        required=False, label="This is someone else: add them as a new contact anyway"
    )

    class Meta:
        model = Contact
        fields = [
            "home_city",
            "name",
            "title",
            "organization",
            "city",
            "country",
            "email",
            "phone",
            "languages",
            "notes",
        ]
        labels = {
            "home_city": "Kept by",
            "title": "Title or role",
            "organization": "Organisation",
            "country": "Based in country",
        }
        help_texts = {"country": "Filled from the city when left empty."}
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        home = owner_city_field(user, label="Kept by")
        if not self.instance.pk and isinstance(home, forms.ModelChoiceField) and home.queryset.count() == 1:
            home.initial = home.queryset.first().pk
        self.fields["home_city"] = home
        self.fields["country"].required = False
        self.fields["country"].queryset = self.fields["country"].queryset.order_by("name")
        self.fields["name"].widget.attrs.update(autofocus=True)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            del self.fields["confirm_duplicate"]

    def _post_clean(self):
        # The service validates against the model.
        pass

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


def search_contacts(query: str, queryset=None):
    """Contacts whose name or organisation contains every word typed (accents and case ignored)."""
    queryset = Contact.objects.all() if queryset is None else queryset
    words = [duplicate_key(word) for word in query.split()]
    words = [word for word in words if word]
    if not words:
        return queryset.none()
    condition = Q()
    for word in words:
        condition &= Q(name_key__contains=word) | Q(organization_key__contains=word)
    return queryset.filter(condition).select_related("home_city").order_by("name", "pk")


class ContactPickerField(PickerField):
    """A participant's contact: picked by type-ahead (`contact-search`) or typed as a name."""

    model = Contact

    def __init__(self, **kwargs):
        kwargs.setdefault("placeholder", "Type a contact's name")
        kwargs.setdefault("search_url_name", "contact-search")
        super().__init__(**kwargs)

    def resolve_text(self, text):
        text = text.strip()
        matches = list(Contact.objects.filter(name_key=duplicate_key(text)).order_by("pk")[:SUGGESTION_LIMIT]) or list(
            search_contacts(text)[:SUGGESTION_LIMIT]
        )
        if len(matches) == 1:
            return matches
        if matches:
            self.widget.candidates = matches
            raise ValidationError(f"Several contacts match “{text}”: tick the one you mean.")
        raise ValidationError(f"No contact is called “{text}”: tick “Add to contacts” to create one.")
