"""Writes the corpus of awkward import files and, beside each, the report it must produce.

Run `python tests/imports/corpus/build.py` after changing a case; the files are committed so the
tests read exactly the bytes a user would upload. The database the reports assume is the `world`
fixture of tests/imports/conftest.py (Los Angeles is staff_a's home city; Chicago is not).

A case's expectations: `status`, the counts, `errors` as (row, column, part of the message) in
report order, `message` (part of a failed job's message), `refused` (part of the message when the
upload itself is refused), `actor`, `kind` and `settings` to override.
"""

import codecs
import io
import json
import zipfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
HEADER = "external_id,city,title,kind,status,start_date,end_date,counterpart_cities,topics,visibility"
LA = '"Los Angeles, US-CA"'
GOOD_1 = f'E-1,{LA},Visit from Nagoya,inbound_delegation,completed,2024-03-01,2024-03-02,"Nagoya, JP",climate,public'
GOOD_2 = (
    f'E-2,{LA},Mission to Berlin,outbound_delegation,planned,2024-05-01,,"Berlin, DE",climate;trade-investment,internal'
)
CASES = {}


def case(name: str, content: bytes | str, *, kind: str = "engagements", **expected):
    data = content.encode("utf-8") if isinstance(content, str) else content
    (HERE / name).write_bytes(data)
    expected.setdefault("status", "succeeded")
    CASES[name] = {"file": name, "kind": kind, **expected}


def csv_lines(*lines: str, header: str = HEADER, newline: str = "\r\n") -> str:
    return newline.join([header, *lines]) + newline


def counts(created=0, updated=0, unchanged=0, errors=0, total=None):
    total = created + updated + unchanged + errors if total is None else total
    return {"total_rows": total, "created": created, "updated": updated, "unchanged": unchanged, "error_count": errors}


def error(row, column, message):
    return {"row": row, "column": column, "message": message}


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


ROWS = [
    HEADER.split(","),
    [
        "X-1",
        "Los Angeles, US-CA",
        "Spreadsheet visit",
        "bilateral_meeting",
        "completed",
        "2024-01-10",
        None,
        "Nagoya, JP",
        "climate",
        "public",
    ],
    [
        "X-2",
        "Los Angeles, US-CA",
        "Second visit",
        "virtual_meeting",
        "completed",
        "2024-02-10",
        "2024-02-10",
        "Berlin, DE",
        "other",
        "internal",
    ],
]


def build():
    case("bom.csv", codecs.BOM_UTF8 + csv_lines(GOOD_1, GOOD_2).encode(), **counts(created=2), errors=[])
    case("no_bom.csv", csv_lines(GOOD_1, GOOD_2), **counts(created=2), errors=[])
    case(
        "semicolon.csv",
        csv_lines(
            'E-1;"Los Angeles, US-CA";Visit from Nagoya;inbound_delegation;completed;2024-03-01;2024-03-02;"Nagoya, JP";climate;public',
            'E-2;"Los Angeles, US-CA";Mission, with a comma;outbound_delegation;planned;2024-05-01;;"Berlin, DE";climate;internal',
            header=HEADER.replace(",", ";"),
        ),
        **counts(created=2),
        errors=[],
    )
    case(
        "utf16_tab.csv",
        codecs.BOM_UTF16_LE
        + csv_lines(
            "E-1\tLos Angeles, US-CA\tBesuch aus Zürich\tinbound_delegation\tcompleted\t2024-03-01\t\t\tclimate\tpublic",
            header=HEADER.replace(",", "\t"),
        ).encode("utf-16-le"),
        **counts(created=1),
        errors=[],
    )
    case(
        "cp1252.csv",
        csv_lines(f"E-1,{LA},Besuch aus Zürich,inbound_delegation,completed,2024-03-01,,,,public").encode("cp1252"),
        status="failed",
        message="not UTF-8",
        total_rows=None,
    )
    case(
        "nul_byte.csv",
        csv_lines(GOOD_1, f"E-2,{LA},Mission\x00 to Berlin,outbound_delegation,planned,2024-05-01,,,,"),
        **counts(created=1, errors=1),
        errors=[error(3, "title", "NUL")],
    )
    case(
        "formula_cells.csv",
        csv_lines(
            f'E-1,{LA},=HYPERLINK("http://evil.example"),inbound_delegation,completed,2024-03-01,,,,public',
            f"E-2,{LA},'=SUM(A1:A2),inbound_delegation,completed,2024-03-02,,,,public",
            f"E-3,{LA},@cmd,inbound_delegation,completed,2024-03-03,,,,public",
        ),
        **counts(created=3),
        errors=[],
        titles=['=HYPERLINK("http://evil.example")', "=SUM(A1:A2)", "@cmd"],
    )
    case(
        "cell_131073.csv",
        csv_lines(GOOD_1, f"E-2,{LA},{'x' * 131_073},other,planned,2024-05-01,,,,internal"),
        **counts(created=1, errors=1),
        errors=[error(3, "title", "131,073 characters; the limit is 131,072")],
    )
    case(
        "cell_131072_summary.csv",
        csv_lines(
            f"E-1,{LA},Long summary,other,planned,2024-05-01,,,,internal,{'y' * 131_072}", header=HEADER + ",summary"
        ),
        **counts(created=1),
        errors=[],
    )
    # SPEC §6: a column the kind does not know is ignored and named once in the warnings.
    case(
        "unknown_column.csv",
        csv_lines(GOOD_1 + ",Bring gifts", GOOD_2 + ",", header=HEADER + ",internal_notes"),
        **counts(created=2),
        errors=[],
        warnings=["“internal_notes” is not a column of engagements; it was ignored"],
    )
    case(
        "misspelled_required_column.csv",
        csv_lines(GOOD_1, header=HEADER.replace("title", "titel")),
        status="failed",
        message="Missing required column(s): title",
        total_rows=None,
        warnings=["“titel” is not a column of engagements"],
    )
    case(
        "missing_required_column.csv",
        csv_lines(f"E-1,{LA},Visit,inbound_delegation,completed", header="external_id,city,title,kind,status"),
        status="failed",
        message="Missing required column(s): start_date",
        total_rows=None,
    )
    case(
        "repeated_column.csv",
        csv_lines(
            f"E-1,{LA},Visit,other,planned,2024-01-01,Again",
            header="external_id,city,title,kind,status,start_date,title",
        ),
        status="failed",
        message="title appear more than once",
        total_rows=None,
    )
    case(
        "headers_with_case_and_spaces.csv",
        csv_lines(
            GOOD_1,
            header=" External_ID , City,TITLE,Kind,status,start_date,end_date,counterpart_cities,topics,visibility",
        ),
        **counts(created=1),
        errors=[],
    )
    case(
        "duplicate_external_id.csv",
        csv_lines(GOOD_1, GOOD_2, GOOD_1.replace("Visit from", "Again from")),
        **counts(created=2, errors=1),
        errors=[error(4, "external_id", "same record as row 2")],
    )
    case(
        "duplicate_natural_key.csv",
        csv_lines(
            f",{LA},Budget talks,bilateral_meeting,completed,2024-04-01,,,,internal",
            f",{LA},Budget talks,bilateral_meeting,cancelled,2024-04-01,,,,internal",
            f",{LA},Budget talks,bilateral_meeting,completed,2024-04-02,,,,internal",
        ),
        **counts(created=2, errors=1),
        errors=[error(3, "", "same record as row 2")],
    )
    case(
        "ambiguous_city.csv",
        csv_lines(
            GOOD_1, f'E-2,{LA},Springfield exchange,cultural_exchange,planned,2024-05-01,,"Springfield, US",,internal'
        ),
        **counts(created=1, errors=1),
        errors=[
            error(
                3, "counterpart_cities", "Springfield, US-MA (GeoNames 4951788); Springfield, US-IL (GeoNames 4250542)"
            )
        ],
    )
    case(
        "unknown_city.csv",
        csv_lines(
            'E-1,"Atlantis, US",Lost,other,planned,2024-05-01,,,,internal',
            f'E-2,{LA},Lost too,other,planned,2024-05-01,,"Atlantis, GR; Nagoya, JP",,internal',
        ),
        **counts(errors=2),
        errors=[
            error(2, "city", "No city matches “Atlantis, US”"),
            error(3, "counterpart_cities", "No city matches “Atlantis, GR”"),
        ],
    )
    case(
        "bad_dates.csv",
        csv_lines(
            f"E-1,{LA},US date,other,planned,03/04/2024,,,,internal",
            f"E-2,{LA},No such day,other,planned,2024-02-30,,,,internal",
            f"E-3,{LA},Leap day,other,planned,2024-02-29,,,,internal",
        ),
        **counts(created=1, errors=2),
        errors=[error(2, "start_date", "ISO 8601"), error(3, "start_date", "ISO 8601")],
    )
    case(
        "end_before_start.csv",
        csv_lines(f"E-1,{LA},Backwards,other,planned,2024-05-02,2024-05-01,,,internal", GOOD_2),
        **counts(created=1, errors=1),
        errors=[error(2, "end_date", "on or after start_date")],
    )
    case(
        "unknown_topic.csv",
        csv_lines(f"E-1,{LA},Topics,other,planned,2024-05-02,,,climate;space-travel,internal"),
        **counts(errors=1),
        errors=[error(2, "topics", "Unknown topic(s): space-travel")],
    )
    case(
        "unknown_kind_and_status.csv",
        csv_lines(f"E-1,{LA},Picnic,picnic,someday,2024-05-02,,,,secret"),
        **counts(errors=1),
        errors=[
            error(2, "kind", "not a valid kind"),
            error(2, "status", "not a valid status"),
            error(2, "visibility", "not a valid visibility"),
        ],
    )
    case(
        "labels_for_choices.csv",
        csv_lines(f"E-1,{LA},Labels,Inbound delegation,Completed,2024-05-02,,,,Public"),
        **counts(created=1),
        errors=[],
    )
    case(
        "several_problems_one_row.csv",
        csv_lines(f'E-1,{LA},,other,planned,yesterday,,"Nowhere, US",,internal', GOOD_2),
        **counts(created=1, errors=1),
        errors=[
            error(2, "title", "required"),
            error(2, "start_date", "ISO 8601"),
            error(2, "counterpart_cities", "No city matches"),
        ],
    )
    case(
        "not_my_city.csv",
        csv_lines(GOOD_1, 'E-2,"Chicago, US-IL",Chicago visit,other,planned,2024-05-01,,,,internal'),
        **counts(created=1, errors=1),
        errors=[error(3, "city", "only for your home cities")],
    )
    case(
        "own_city_counterpart.csv",
        csv_lines(f'E-1,{LA},Self,other,planned,2024-05-01,,"Los Angeles, US-CA",,internal'),
        **counts(errors=1),
        errors=[error(2, "counterpart_cities", "own city")],
    )
    case(
        "extra_cells.csv",
        csv_lines(GOOD_1, GOOD_2 + ",surprise"),
        **counts(created=1, errors=1),
        errors=[error(3, "", "11 cells but the header names 10")],
    )
    case(
        "blank_rows.csv",
        csv_lines(GOOD_1, "", ",,,,,,,,,", f"E-9,{LA},After blanks,other,planned,2024-13-01,,,,internal"),
        **counts(created=1, errors=1),
        errors=[error(5, "start_date", "ISO 8601")],
    )
    case(
        "quoted_newlines.csv",
        csv_lines(
            f'E-1,{LA},"Two\nline title",other,planned,2024-05-01,,,,internal',
            f"E-2,{LA},Second,other,planned,not-a-date,,,,internal",
        ),
        **counts(created=1, errors=1),
        errors=[error(3, "start_date", "ISO 8601")],
    )
    case(
        "bad_boolean.csv",
        csv_lines(
            f"E-1,{LA},Maybe,other,planned,2024-05-01,maybe",
            header="external_id,city,title,kind,status,start_date,federal_coordination_requested",
        ),
        **counts(errors=1),
        errors=[error(2, "federal_coordination_requested", "not true or false")],
    )
    case("empty.csv", b"", refused="empty")
    case("blank_lines_only.csv", "\r\n\r\n  \r\n", status="failed", message="The file is empty", total_rows=None)
    case("header_only.csv", HEADER + "\r\n", **counts(), errors=[])
    case("old_excel.xls", b"\xd0\xcf\x11\xe0 not really", refused="Old Excel")
    case(
        "too_many_rows.csv",
        csv_lines(GOOD_1, GOOD_2, GOOD_1.replace("E-1", "E-3")),
        settings={"IMPORT_MAX_ROWS": 2},
        status="failed",
        message="more than 2 rows",
        total_rows=None,
    )
    case(
        "several_sheets.xlsx",
        xlsx({"Read me": [["This sheet explains the file"]], "Engagements": ROWS}),
        **counts(created=2),
        errors=[],
    )
    case("first_sheet.xlsx", xlsx({"2024": ROWS, "2023": [HEADER.split(","), ["bad"]]}), **counts(created=2), errors=[])
    case(
        "xlsx_bad_row.xlsx",
        xlsx({"Sheet": [*ROWS, ["X-3", "Los Angeles, US-CA", "Bad", "other", "planned", "soon"]]}),
        **counts(created=2, errors=1),
        errors=[error(4, "start_date", "ISO 8601")],
    )
    case(
        "corrupt.xlsx",
        b"PK\x03\x04 this is not a zip archive at all",
        status="failed",
        message="not a valid XLSX",
        total_rows=None,
    )
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 3_000_000)
    case(
        "inflates_too_much.xlsx",
        bomb.getvalue(),
        settings={"IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES": 1_000_000},
        status="failed",
        message="would unpack to",
        total_rows=None,
    )
    case(
        "too_many_entries.xlsx",
        xlsx({"Sheet": ROWS}),
        settings={"IMPORT_XLSX_MAX_ENTRIES": 3},
        status="failed",
        message="entries; the limit is 3",
        total_rows=None,
    )
    case(
        "list.json",
        json.dumps(
            [
                {
                    "external_id": "J-1",
                    "city": "Los Angeles, US-CA",
                    "title": "Kraków partners",
                    "kind": "conference",
                    "status": "completed",
                    "start_date": "2024-06-01",
                    "topics": ["climate", "culture-education"],
                    "counterpart_cities": ["Nagoya, JP", "Berlin, DE"],
                    "federal_coordination_requested": True,
                },
                {
                    "external_id": "J-2",
                    "city": "Los Angeles, US-CA",
                    "title": "北京 visit",
                    "kind": "other",
                    "status": "planned",
                    "start_date": "2024-07-01",
                    "end_date": None,
                },
                {
                    "external_id": "J-3",
                    "city": "Los Angeles, US-CA",
                    "title": "Bad",
                    "kind": "other",
                    "status": "planned",
                    "start_date": "2024-07-01",
                    "end_date": "2024-06-01",
                },
            ],
            ensure_ascii=False,
            indent=1,
        ),
        **counts(created=2, errors=1),
        errors=[error(3, "end_date", "on or after start_date")],
    )
    case(
        "not_a_list.json",
        json.dumps({"engagements": []}),
        status="failed",
        message="must be a list of objects",
        total_rows=None,
    )
    case(
        "item_not_object.json",
        json.dumps(
            [
                ["E-1"],
                {
                    "city": "Los Angeles, US-CA",
                    "title": "Fine",
                    "kind": "other",
                    "status": "planned",
                    "start_date": "2024-01-01",
                },
            ]
        ),
        **counts(created=1, errors=1),
        errors=[error(1, "", "not an object")],
    )
    case(
        "truncated.json",
        '[{"city": "Los Angeles, US-CA", "title": "Cut',
        status="failed",
        message="JSON is invalid",
        total_rows=None,
    )
    case("empty_list.json", "[]", **counts(), errors=[])
    case(
        "organizations_namibia.csv",
        csv_lines(
            "Ministry of Urban and Rural Development,national_government,NA,,https://murd.gov.na",
            'City of Windhoek,subnational_government,,"Windhoek, NA",',
            "Nowhere Inc,company,XX,,",
            header="name,kind,country,city,website",
        ),
        kind="organizations",
        **counts(created=2, errors=1),
        errors=[error(4, "country", "not an ISO 3166-1 alpha-2")],
        countries={"Ministry of Urban and Rural Development": "NA", "City of Windhoek": "NA"},
    )
    case(
        "namibia_counterpart.csv",
        csv_lines(f'E-1,{LA},Windhoek twinning talks,bilateral_meeting,planned,2024-09-01,,"Windhoek, NA",,internal'),
        **counts(created=1),
        errors=[],
        counterpart_countries={"E-1": ["NA"]},
    )
    case(
        "memberships.csv",
        csv_lines(
            f"c40,{LA},member,2006-01-01,,",
            f"ICLEI,{LA},steering_committee,2010-05-01,2009-01-01,Left before joining",
            f"Mayors for Pizza,{LA},member,,,",
            'c40,"Chicago, US-IL",member,,,',
            header="network,city,role,joined_on,left_on,notes",
        ),
        kind="memberships",
        **counts(created=1, errors=3),
        errors=[
            error(3, "left_on", "on or after joined_on"),
            error(4, "network", "No network is called"),
            error(5, "city", "only for your home cities"),
        ],
    )
    case(
        "agreements.csv",
        csv_lines(
            f'A-1,{LA},Sister city agreement with Nagoya,sister_city,active,1959-04-01,,"Nagoya, JP",,culture-education',
            f"A-2,{LA},Backwards MOU,memorandum_of_understanding,signed,2020-01-01,2019-01-01,,,",
            f"A-3,{LA},Goethe partnership,cooperation_agreement,active,2021-01-01,,,Goethe-Institut,",
            header="external_id,city,title,kind,status,signed_on,expires_on,counterpart_cities,counterpart_organizations,topics",
        ),
        kind="agreements",
        **counts(created=2, errors=1),
        errors=[error(3, "expires_on", "on or after signed_on")],
    )
    case(
        "cities_as_admin.csv",
        csv_lines(
            "Swakopmund,NA,,44725,-22.678,14.527,Africa/Windhoek,3352844",
            "Nowhere,ZZ,,,,,,",
            "Bad latitude,US,US-CA,,95,0,,",
            header="name,country,subdivision,population,latitude,longitude,timezone,geonames_id",
        ),
        kind="cities",
        actor="admin",
        **counts(created=1, errors=2),
        errors=[error(3, "country", "not an ISO 3166-1 alpha-2"), error(4, "latitude", "outside -90..90")],
    )
    case(
        "cities_as_staff.csv",
        csv_lines("Swakopmund,NA", header="name,country"),
        kind="cities",
        refused="only administrators import them",
    )

    hostile()

    for name, expected in CASES.items():
        (HERE / f"{name}.expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(CASES)} cases written to {HERE}")


def _json_record(**fields) -> dict:
    return {"city": "Los Angeles, US-CA", "kind": "other", "status": "planned", "start_date": "2024-01-01"} | fields


def hostile():
    """Issue #13: input built to break a page, a job or a count. Each is a clear row error or one
    clear failure of the job, never a crash, an 'unexpected error' or a half-written file."""
    case(
        "nul_in_header.csv",
        csv_lines(GOOD_1, header=HEADER.replace("city", "ci\x00ty")),
        status="failed",
        message="Column 2 of the header (ci\\0ty) holds a NUL",
        total_rows=None,
        attempts=1,
    )
    case(
        "lone_surrogate.json",
        json.dumps(
            [
                _json_record(title="Good"),
                _json_record(title="\ud800", start_date="2024-01-02"),
                _json_record(title="Also good", start_date="2024-01-03"),
            ]
        ),
        **counts(created=2, errors=1),
        errors=[error(2, "title", "unpaired surrogate")],
    )
    case(
        "lone_surrogate_in_key.json",
        '[{"city": "Los Angeles, US-CA", "title": "Key", "kind": "other", "status": "planned", '
        '"start_date": "2024-01-01", "\\udc00": "x"}]',
        **counts(errors=1),
        errors=[error(1, "", "A key of this record holds a NUL or non-text character")],
    )
    case(
        "header_2000_columns.csv",
        csv_lines(GOOD_1, header=HEADER + "," + ",".join(f"extra_{n}" for n in range(1990))),
        status="failed",
        message="The header names 2,000 columns; the limit is 1,000.",
        total_rows=None,
        max_seconds=5,
    )
    case(
        "invalid_utf8_row3.csv",
        csv_lines(GOOD_1).encode() + f"E-2,{LA},Caf".encode() + b"\xe9 Berlin,other,planned,2024-01-02,,,,internal\r\n",
        status="failed",
        message="(byte 0xE9 in row 3 cannot be read)",
        total_rows=None,
    )
    case(
        "nested_100000.json",
        "[" + "[" * 100_000 + "]" * 100_000 + "]",
        status="failed",
        message="Record 1 of the JSON is nested too deeply",
        total_rows=None,
        max_seconds=10,
    )
    case(
        "nested_100000_in_a_cell.json",
        '[{"city": "Los Angeles, US-CA", "title": ' + "[" * 100_000 + "]" * 100_000 + "}]",
        status="failed",
        message="nested too deeply",
        total_rows=None,
    )
    case(
        "number_5000_digits.json",
        "["
        + json.dumps(_json_record(title="Fine"))
        + ", "
        + json.dumps(_json_record(title="Huge city", start_date="2024-01-02"))[:-1]
        + ', "external_id": '
        + "9" * 5000
        + "}]",
        **counts(created=1, errors=1),
        errors=[error(2, "external_id", "at most 100 characters")],
    )
    case(
        "number_5000_digits_as_date.json",
        '[{"city": "Los Angeles, US-CA", "title": "Big", "kind": "other", "status": "planned", "start_date": '
        + "9" * 5000
        + "}]",
        **counts(errors=1),
        errors=[error(1, "start_date", "ISO 8601")],
    )
    case(
        "nan_title.json",
        '[{"city": "Los Angeles, US-CA", "title": NaN, "kind": "other", "status": "planned", "start_date": "2024-01-01"},'
        ' {"city": "Los Angeles, US-CA", "title": "Infinite", "kind": "other", "status": "planned", "start_date": -Infinity},'
        ' {"city": "Los Angeles, US-CA", "title": "Finite", "kind": "other", "status": "planned", "start_date": "2024-01-03"}]',
        **counts(created=1, errors=2),
        errors=[
            error(1, "title", "NaN is not a value JSON allows"),
            error(2, "start_date", "-Infinity is not a value JSON allows"),
        ],
    )
    case(
        "dates_out_of_range.csv",
        csv_lines(
            f"E-1,{LA},Roman times,other,planned,0226-05-01,,,,internal",
            f"E-2,{LA},Next century,other,planned,2100-12-31,2101-01-01,,,internal",
            f"E-3,{LA},Last good day,other,planned,2100-12-31,2100-12-31,,,internal",
            f"E-4,{LA},Before 1900,other,planned,1899-12-31,,,,internal",
            f"E-5,{LA},First good day,other,planned,1900-01-01,,,,internal",
        ),
        **counts(created=2, errors=3),
        errors=[
            error(2, "start_date", "1900-01-01"),
            error(3, "end_date", "2100-12-31"),
            error(5, "start_date", "1900-01-01"),
        ],
    )
    case(
        "agreement_dates_out_of_range.csv",
        csv_lines(
            f"A-1,{LA},Ancient pact,declaration,signed,0226-05-01,",
            f"A-2,{LA},Far future,declaration,signed,2024-01-01,2101-01-01",
            f"A-3,{LA},Fine pact,declaration,signed,2024-01-01,2100-12-31",
            header="external_id,city,title,kind,status,signed_on,expires_on",
        ),
        kind="agreements",
        **counts(created=1, errors=2),
        errors=[error(2, "signed_on", "1900-01-01"), error(3, "expires_on", "2100-12-31")],
    )
    case(
        "unknown_key.json",
        json.dumps(
            [_json_record(title="With a note", note="ignored"), _json_record(title="Plain", start_date="2024-01-02")]
        ),
        **counts(created=2),
        errors=[],
        warnings=["“note” is not a column of engagements; it was ignored"],
    )
    case(
        "unknown_column_with_bad_cells.csv",
        csv_lines(GOOD_1 + ",bad\x00cell", GOOD_2 + "," + "z" * 131_073, header=HEADER + ",scratch"),
        **counts(created=2),
        errors=[],
        warnings=["“scratch”"],
    )
    case(
        "unknown_columns_xlsx.xlsx",
        xlsx({"Sheet": [[*ROWS[0], "Colour", "colour "], *[[*row, "red", None] for row in ROWS[1:]]]}),
        status="failed",
        message="colour appear more than once",
        total_rows=None,
    )
    case(
        "unknown_columns_named_once.xlsx",
        xlsx(
            {"Sheet": [[*ROWS[0], "Colour", "Mood"], *[[*row, "red", "<script>alert(1)</script>"] for row in ROWS[1:]]]}
        ),
        **counts(created=2),
        errors=[],
        warnings=["“colour”", "“mood”"],
    )


if __name__ == "__main__":
    build()
