from django import forms

from .models import ImportJob


class ImportForm(forms.Form):
    # No kind is chosen for the person: a file imported as the wrong kind is the costly mistake.
    kind = forms.ChoiceField(
        label="What the file holds",
        choices=[("", "Choose what the file holds…"), *ImportJob.Kind.choices],
        error_messages={
            "required": "Choose what the file holds: "
            + ", ".join(str(label).lower() for _value, label in ImportJob.Kind.choices)
            + "."
        },
        help_text="The columns each kind takes, and their allowed values, are listed below the form.",
    )
    file = forms.FileField(label="File (CSV, XLSX or JSON)")
    dry_run = forms.BooleanField(label="Dry run: check the file and report, write nothing", required=False)
