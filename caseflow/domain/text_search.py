"""Finding a case by any text of it (a caller's name, a phone number, words of the symptom),
Chinese included: a substring match, with the one- and two-character pieces ("grams") of the
text as what an index can look up.

Chinese has no spaces between words, so word-based full-text search does not fit, and a
trigram index cannot help a query of one or two characters (a surname, "张伟"). Every piece of
one and two characters of each run of the text is kept; a query of up to two characters is
one piece, a longer one is all its two-character pieces, looked up in the index and then
checked as a substring. Numbers are kept digits-only too, so "0571 8888 6666" finds
"0571-88886666".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

MAX_TEXT = 20_000  # characters of a case's text kept for search


def normalise(text: str) -> str:
    """Full-width forms to their plain ones (ＣＴ -> ct), lower case, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _runs(text: str) -> list[str]:
    runs = normalise(text).split(" ")
    digits = [re.sub(r"\D", "", run) for run in runs if re.search(r"\d.*\D.*\d", run)]
    return [r for r in runs + digits if r]


def grams(text: str) -> list[str]:
    """The one- and two-character pieces of every run of `text`, each once."""
    found: set[str] = set()
    for run in _runs(text):
        found.update(run)
        found.update(run[i:i + 2] for i in range(len(run) - 1))
    return sorted(found)


def query_text(query: str) -> str:
    """What a text must contain to match `query`: normalised; a number however written
    ("0571 8888-6666") digits only."""
    text = normalise(query)
    if re.fullmatch(r"[\d\s\-()+./]+", text) and re.search(r"\d", text):
        return re.sub(r"\D", "", text)
    return text


def query_grams(query: str) -> list[str]:
    """The pieces a text must have to contain `query`."""
    found: set[str] = set()
    for run in query_text(query).split(" "):
        if len(run) <= 2:
            found.add(run)
        else:
            found.update(run[i:i + 2] for i in range(len(run) - 1))
    return sorted(g for g in found if g)


def searchable(values: Iterable[Any]) -> str:
    """The text of values (strings, numbers, nested lists and dicts), as one string, with the
    digits-only form of each number written with separators."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for value in values:
        walk(value)
    text = normalise(" ".join(parts))
    extra = [re.sub(r"\D", "", run) for run in text.split(" ") if re.search(r"\d.*\D.*\d", run)]
    return " ".join([text, *extra])[:MAX_TEXT]
