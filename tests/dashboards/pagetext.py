"""Read a rendered page the way a person does: the rows of a table, the text of an element."""

from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TableReader(HTMLParser):
    def __init__(self, testid: str):
        super().__init__()
        self.testid = testid
        self.depth = 0
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (self.depth or attrs.get("data-testid") == self.testid):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, testid: str) -> list[list[str]]:
    """The body rows of the table marked `data-testid=testid`, as cell texts (header row left out)."""
    reader = _TableReader(testid)
    reader.feed(html)
    return reader.rows[1:]


def table_counts(html: str, testid: str) -> dict[str, int]:
    """`{first cell: last cell as a number}` for a two-column count table."""
    return {row[0]: int(row[-1]) for row in table_rows(html, testid) if row and row[-1].isdigit()}


class _TextReader(HTMLParser):
    def __init__(self, testid: str):
        super().__init__()
        self.testid = testid
        self.depth = 0
        self.text: list[str] = []
        self.found = False

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("data-testid") == self.testid and not self.found:
            self.depth = 1
            self.found = True

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


def text_of(html: str, testid: str) -> str:
    reader = _TextReader(testid)
    reader.feed(html)
    assert reader.found, f"no element with data-testid={testid!r}"
    return " ".join("".join(reader.text).split())


def number_of(html: str, testid: str) -> int:
    """The first number shown in the element marked `data-testid=testid`."""
    return int(text_of(html, testid).split()[0])
