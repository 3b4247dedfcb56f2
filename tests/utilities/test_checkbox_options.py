"""The list filters' tick boxes are drawn by one template of their own (`CheckboxOptions`), for
speed; their markup stays Django's own, option for option, groups, escaping and choices included."""

import pytest
from django import forms

from utilities.listing import CheckboxOptions

CHOICES = {
    "plain": [("x", "X & Co"), ("y", "Y"), ("z", '"Z" <b>')],
    "grouped": [("Group one", [("p", "P"), ("q", "Q")]), ("r", "R")],
}


def drawn(widget, choices, chosen) -> str:
    class Filters(forms.Form):
        field = forms.MultipleChoiceField(choices=choices, required=False, widget=widget)

    return " ".join(str(Filters(data={"field": chosen})["field"]).split()).replace("> <", "><")


@pytest.mark.parametrize("kind", CHOICES)
@pytest.mark.parametrize("chosen", [[], ["y", "z", "q"]])
def test_the_boxes_are_djangos_markup(kind, chosen):
    mine = drawn(CheckboxOptions, CHOICES[kind], chosen)
    assert mine == drawn(forms.CheckboxSelectMultiple, CHOICES[kind], chosen)
    assert mine.count('type="checkbox"') == 3
    assert "&quot;Z&quot; &lt;b&gt;" in mine or kind == "grouped"
