"""`{% options %}` writes what `format_html_join` would, escaping every value and label."""

from types import SimpleNamespace

from django.template import Context, Template
from django.utils.html import format_html_join
from hypothesis import given
from hypothesis import strategies as st


def rendered(choices, chosen, **names) -> str:
    arguments = " ".join(f'{key}="{value}"' for key, value in names.items())
    template = Template("{% load options %}{% options choices chosen " + arguments + " %}")
    return template.render(Context({"choices": choices, "chosen": chosen}))


def expected(pairs, chosen) -> str:
    chosen = "" if chosen is None else str(chosen)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((key, " selected" if str(key) == chosen else "", text) for key, text in pairs),
    )


@given(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=12)), max_size=8), st.text(max_size=6))
def test_pairs_are_written_escaped_as_format_html_would(pairs, chosen):
    assert rendered(pairs, chosen) == expected(pairs, chosen)


def test_records_name_their_value_and_label_and_the_chosen_one_is_selected():
    records = [SimpleNamespace(iso2="DE", name="Germany"), SimpleNamespace(iso2="CI", name="Côte d'Ivoire <&>")]
    html = rendered(records, "CI", value="iso2", label="name")
    assert html == (
        '<option value="DE">Germany</option><option value="CI" selected>Côte d&#x27;Ivoire &lt;&amp;&gt;</option>'
    )
    assert html == expected([("DE", "Germany"), ("CI", "Côte d'Ivoire <&>")], "CI")
    assert rendered(records, None, value="iso2", label="name").count("selected") == 0
