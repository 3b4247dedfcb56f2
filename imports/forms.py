from django import forms

from .models import ImportJob


class ImportForm(forms.Form):
    file = forms.FileField(label="File (CSV, XLSX or JSON)")
    kind = forms.ChoiceField(label="What the file holds", choices=ImportJob.Kind.choices)
    dry_run = forms.BooleanField(label="Dry run: check the file and report, write nothing", required=False)
