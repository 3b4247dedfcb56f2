"""Text folding for matching place names typed by people against GeoNames' spellings."""

import unicodedata

# Letters that NFKD does not decompose into an ASCII base letter.
_EXTRA_ASCII = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ı": "i",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
        "ħ": "h",
        "Ħ": "H",
    }
)


def to_ascii(text: str) -> str:
    """`Kraków` -> `Krakow`, `Łódź` -> `Lodz`; characters with no ASCII form are dropped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA_ASCII))
    return "".join(ch for ch in decomposed if ord(ch) < 128)


def fold(text: str) -> str:
    """The key names are compared by: ASCII where possible, case-folded, spaces collapsed."""
    text = " ".join((text or "").split())
    ascii_form = to_ascii(text)
    # A name with no Latin letters at all (北京) keeps its own characters.
    return (ascii_form if ascii_form.strip() else text).casefold()
