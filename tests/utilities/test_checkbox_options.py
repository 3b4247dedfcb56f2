"""The list filters' tick boxes are written in Python (`CheckboxOptions`), for speed; their markup
stays Django's own, option for option, groups, escaping, attributes and choices included."""

import pytest
from django import forms

from utilities.listing import CheckboxOptions

CHOICES = {
    "plain": [("x", "X & Co"), ("y", "Y"), ("z", '"Z" <b>')],
    "grouped": [("Group one", [("p", "P"), ("q", "Q")]), ("r", "R")],
}


def drawn(widget, choices, chosen, attrs=None) -> str:
    class Filters(forms.Form):
        field = forms.MultipleChoiceField(choices=choices, required=False, widget=widget(attrs=attrs))

    return " ".join(str(Filters(data={"field": chosen})["field"]).split()).replace("> <", "><")


@pytest.mark.parametrize("kind", CHOICES)
@pytest.mark.parametrize("chosen", [[], ["y", "z", "q"]])
@pytest.mark.parametrize("attrs", [None, {"class": "boxes", "data-note": 'a "b"', "disabled": True, "hidden": False}])
def test_the_boxes_are_djangos_markup(kind, chosen, attrs):
    mine = drawn(CheckboxOptions, CHOICES[kind], chosen, attrs)
    assert mine == drawn(forms.CheckboxSelectMultiple, CHOICES[kind], chosen, attrs)
    assert mine.count('type="checkbox"') == 3
    assert "&quot;Z&quot; &lt;b&gt;" in mine or kind == "grouped"


def test_model_choices_are_djangos_markup_too(db):
    from cities.models import Topic

    chosen = Topic.objects.order_by("name")[1]

    def topics(widget):
        class Filters(forms.Form):
            topic = forms.ModelMultipleChoiceField(
                Topic.objects.all(), to_field_name="slug", required=False, widget=widget
            )

        return " ".join(str(Filters(data={"topic": [chosen.slug]})["topic"]).split()).replace("> <", "><")

    mine = topics(CheckboxOptions)
    assert mine == topics(forms.CheckboxSelectMultiple)
    assert f'value="{chosen.slug}" id="id_topic_1" checked' in mine
