"""The population-register check (Einwohnermeldewesen, R14): an adapter interface, and a
backend that reads a register file (CSV) for the demo and the tests. A registration the
register does not confirm is held for an operator's review with the reason, never
silently accepted or dropped."""

from __future__ import annotations

import csv
import datetime as dt
import logging
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class PersonData:
    first_name: str
    last_name: str
    birth_date: dt.date
    street: str
    postcode: str
    city: str


@dataclass(frozen=True)
class RegisterAnswer:
    confirmed: bool
    reason: str = ""  # why not, for the operator (German, translated on display)


class PopulationRegister:
    """What a register adapter answers: does this person live at this address?"""

    def check(self, person: PersonData) -> RegisterAnswer:
        raise NotImplementedError


def comparable(text: str) -> str:
    """Compare names and streets as people write them: case, accents, ß, spaces, Str."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ß", "ss")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.replace("strasse", "str").replace("str.", "str")
    return " ".join(text.replace("-", " ").split())


logger = logging.getLogger(__name__)

NOT_FOUND = _("Person mit diesem Namen und Geburtsdatum nicht im Melderegister gefunden")
OTHER_ADDRESS = _("Im Melderegister mit einer anderen Anschrift eingetragen")


class CsvPopulationRegister(PopulationRegister):
    """A register file: CSV with the columns last_name, first_name, birth_date (ISO),
    street, postcode, city; several rows per person (first and second residence)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path or settings.POPULATION_REGISTER_FILE)

    def check(self, person: PersonData) -> RegisterAnswer:
        addresses = _read(str(self.path), self.path.stat().st_mtime).get(
            (
                comparable(person.last_name),
                comparable(person.first_name),
                person.birth_date.isoformat(),
            )
        )
        if not addresses:
            return RegisterAnswer(False, str(NOT_FOUND))
        if (
            comparable(person.street),
            person.postcode.strip(),
            comparable(person.city),
        ) not in addresses:
            return RegisterAnswer(False, str(OTHER_ADDRESS))
        return RegisterAnswer(True)


@lru_cache(maxsize=4)
def _read(path: str, _mtime: float) -> dict[tuple, set[tuple]]:
    people: dict[tuple, set[tuple]] = {}
    with open(path, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            person = (
                comparable(row["last_name"]),
                comparable(row["first_name"]),
                row["birth_date"].strip(),
            )
            address = (comparable(row["street"]), row["postcode"].strip(), comparable(row["city"]))
            people.setdefault(person, set()).add(address)
    return people


def population_register() -> PopulationRegister:
    return import_string(settings.POPULATION_REGISTER_BACKEND)()


UNREACHABLE = _("Melderegister nicht erreichbar; bitte später erneut prüfen")


def register_check(person: PersonData) -> RegisterAnswer:
    """The configured register's answer; a register that fails is no answer: the
    registration is held for review, never lost and never waved through. Reasons are
    kept in German, the operators' language."""
    with translation.override("de"):
        try:
            answer = population_register().check(person)
        except Exception as error:  # any adapter failure: hold, never lose
            logger.warning("population register failed: %s", type(error).__name__)
            return RegisterAnswer(False, str(UNREACHABLE))
        return RegisterAnswer(answer.confirmed, str(answer.reason))
