from django import forms

from .preferences import email_kinds_for


class EmailPreferencesForm(forms.Form):
    """One checkbox per kind of notification the user's role receives."""

    emailed_kinds = forms.MultipleChoiceField(
        label="Email me about", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["emailed_kinds"].choices = [(kind.value, kind.label) for kind in email_kinds_for(user)]
