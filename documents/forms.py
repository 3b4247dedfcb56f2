from django import forms

from cities.forms import PlainLabels

from .models import Document


class DocumentForm(PlainLabels, forms.Form):
    """The upload form on an agreement's or engagement's page."""

    file = forms.FileField(
        label="File",
        help_text="PDF, DOCX, XLSX, CSV, TXT, PNG or JPEG; at most 25 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx,.xlsx,.csv,.txt,.png,.jpg,.jpeg"}),
    )
    title = forms.CharField(max_length=300, required=False, help_text="Leave empty to use the file's name.")
    kind = forms.ChoiceField(choices=Document.Kind.choices, initial=Document.Kind.OTHER)
    is_public = forms.BooleanField(
        required=False, label="Public", help_text="Partners and the public see it when the record is public."
    )
