"""The one formula guard every CSV download goes through (`utilities.csv`)."""

import csv
import io

import pytest

from utilities.csv import csv_lines, guard, unguard

FORMULAS = [
    '=HYPERLINK("http://x")',
    "+1+2",
    "-2+3",
    "@SUM(A1)",
    "\tcmd",
    "\rcmd",
    "-",
    "+",
    "-1e5",
    "-12.5.1",
    "-12\n",
]
NUMBERS = ["-12.5", "+3", "-3", "-118.240000", "42", "0.5"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(text):
    assert guard(text) == "'" + text


@pytest.mark.parametrize("text", NUMBERS)
def test_a_plain_number_stays_a_number_even_with_a_sign(text):
    assert guard(text) == text


@pytest.mark.parametrize("text", ["São Paulo", "'=already guarded", "", "1+1"])
def test_other_text_is_left_as_it_is(text):
    assert guard(text) == text


@pytest.mark.parametrize("text", FORMULAS + NUMBERS)
def test_the_importer_reads_back_what_was_exported(text):
    assert unguard(guard(text)) == text


def test_rows_by_name_and_rows_in_order_are_guarded_alike():
    header = ["title", "longitude", "tags"]
    by_name = {"title": "=cmd()", "longitude": -118.24, "tags": [{"name": "-x"}, {"name": "y"}]}
    in_order = ["=cmd()", -118.24, [{"name": "-x"}, {"name": "y"}]]

    for rows in ([by_name], [in_order]):
        text = "".join(csv_lines(header, rows))
        assert text.startswith("\ufeff")
        assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [header, ["'=cmd()", "-118.24", "'-x; y"]]
