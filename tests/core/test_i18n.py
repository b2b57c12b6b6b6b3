"""The English translation: complete, well-formed, compiled, and served.

German is the source language; `locale/en/LC_MESSAGES/django.po` holds the English text
for every German msgid, and the compiled `django.mo` is committed beside it so that a
machine without GNU gettext can run the site. The catalogue tests fail, with the fix in
their message, as soon as a German string lacks its translation or the .mo is stale.
"""

from __future__ import annotations

import ast
import gettext
import html
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from tests.staff.helpers import verified_log_in

# As in tests/conftest.py: under CI a missing tool is a failure, never a skip.
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
SOURCE_DIR = LOCALE_DIR.parent  # the package: src/impftermin
PO_PATH = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
FIX = (
    "run `make messages`, then in src/impftermin/locale/en/LC_MESSAGES/django.po write the "
    "English text of every empty msgstr, check every `#, fuzzy` entry and delete its fuzzy "
    "flag, and run `make messages` again to compile the .mo"
)

# A %-format conversion: %(name)s, %(count)d, %s, %5.2f, and the literal %%.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)


@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    def __str__(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


def parse_po(path: Path) -> list[Entry]:
    """A small reader for the PO files GNU gettext writes: comments, flags, msgctxt,
    msgid, msgid_plural, msgstr and msgstr[n], with continued strings."""
    entries: list[Entry] = []
    entry: Entry | None = None
    current: tuple[str, int] | None = None  # the keyword a continued string belongs to

    def append(keyword: str, index: int, text: str) -> None:
        if keyword == "msgstr":
            entry.msgstr[index] = entry.msgstr.get(index, "") + text
        else:
            setattr(entry, keyword, (getattr(entry, keyword) or "") + text)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, current = None, None
            continue
        if entry is None:
            entry = Entry(line=number)
            entries.append(entry)
        if line.startswith("#~"):
            entry.obsolete = True
            line = line[2:].strip()
            if not line or line.startswith("|"):
                continue
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        elif line.startswith("#:"):
            entry.references.extend(line[2:].split())
            continue
        elif line.startswith("#"):
            continue
        if line.startswith('"'):
            if current is None:
                raise ValueError(f"{path}:{number}: a string without a keyword")
            append(*current, ast.literal_eval(line))
            continue
        keyword, _space, value = line.partition(" ")
        match = re.fullmatch(r"(msgctxt|msgid|msgid_plural|msgstr)(?:\[(\d+)\])?", keyword)
        if match is None:
            raise ValueError(f"{path}:{number}: unknown keyword {keyword!r}")
        current = (match[1], int(match[2] or 0))
        append(*current, ast.literal_eval(value))
    return entries


def live_entries(path: Path) -> list[Entry]:
    return [e for e in parse_po(path) if not e.obsolete and not e.is_header]


def placeholders(text: str) -> set[str]:
    return {m[0] for m in PLACEHOLDER.finditer(text) if m["type"] != "%"}


def require_tools(*names: str) -> None:
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    message = f"needs GNU gettext ({', '.join(missing)}): apt-get install gettext"
    if CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _keep_active_language():
    """A request to an /en/ page leaves English active in this thread; give the next
    test back the language it would have had."""
    with translation.override(translation.get_language()):
        yield


# The catalogue ----------------------------------------------------------------------


def test_po_file_parses_and_has_entries():
    entries = parse_po(PO_PATH)
    header = [e for e in entries if e.is_header]
    assert len(header) == 1
    assert "Language: en\n" in header[0].msgstr[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);\n" in header[0].msgstr[0]
    assert len(live_entries(PO_PATH)) > 100


def test_every_entry_is_translated_and_none_is_fuzzy():
    problems = []
    for entry in parse_po(PO_PATH):
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry}")
        if entry.is_header:
            continue
        forms = 2 if entry.msgid_plural is not None else 1
        if sorted(entry.msgstr) != list(range(forms)):
            problems.append(f"needs {forms} translation form(s): {entry}")
        elif any(not text.strip() for text in entry.msgstr.values()):
            problems.append(f"empty translation: {entry}")
    assert not problems, f"{FIX}:\n" + "\n".join(problems)


def test_translations_keep_the_placeholders():
    """Every %(name)s of the German text is in the English one, and the English text
    adds none: a missing key would raise at runtime, a lost one drop a number."""
    problems = []
    for entry in live_entries(PO_PATH):
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        for index, source in enumerate(sources):
            translated = entry.msgstr.get(index, "")
            if placeholders(source) != placeholders(translated):
                problems.append(
                    f"{entry} [{index}]: {sorted(placeholders(source))} in German, "
                    f"{sorted(placeholders(translated))} in English"
                )
    assert not problems, "\n".join(problems)


def test_glossary_terms_are_used():
    """The glossary's English names (docs: ARCHITECTURE.md) for the terms in the UI."""
    english = {e.msgid: e.msgstr.get(0) for e in live_entries(PO_PATH) if e.msgctxt is None}
    assert english["Impfzentrum"] == "vaccination centre"
    assert english["Impfzentren"] == "Vaccination centres"
    assert english["Kreis"] == "district"
    assert english["kreisfreie Stadt"] == "independent city (kreisfreie Stadt)"
    assert english["Terminpaar"] == "appointment pair"
    assert english["Zeitfenster"] == "time slot"
    assert english["Zuweisung"] == "assignment"
    assert english["Lieferung"] == "delivery"
    assert english["Zuteilung"] == "allocation"


def test_po_file_lists_exactly_the_strings_in_the_code(tmp_path, monkeypatch):
    """makemessages on a copy of the package, so the committed catalogue stays untouched:
    every German msgid in code and templates has an entry, and no entry is left over."""
    require_tools("xgettext", "msguniq", "msgmerge")
    source = tmp_path / "impftermin"
    shutil.copytree(
        SOURCE_DIR,
        source,
        ignore=shutil.ignore_patterns("locale", "static", "__pycache__", "*.pyc"),
    )
    locale = source / "locale"
    locale.mkdir()
    monkeypatch.chdir(source)
    with override_settings(LOCALE_PATHS=[str(locale)]):
        call_command(
            "makemessages",
            locale=["en"],
            no_obsolete=True,
            verbosity=0,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    extracted = {e.key: e for e in live_entries(locale / "en" / "LC_MESSAGES" / "django.po")}
    committed = {e.key: e for e in live_entries(PO_PATH)}
    assert extracted, "makemessages found no strings in the copy of the package"

    missing = [
        f"{extracted[key].msgid!r} ({', '.join(extracted[key].references)})"
        for key in extracted.keys() - committed.keys()
    ]
    stale = [str(committed[key]) for key in committed.keys() - extracted.keys()]
    report = []
    if missing:
        report.append("German strings without an English entry:\n  " + "\n  ".join(sorted(missing)))
    if stale:
        report.append("entries no longer in the code:\n  " + "\n  ".join(sorted(stale)))
    assert not report, f"{FIX}\n" + "\n".join(report)


def mo_catalog(path: Path) -> dict:
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)


def test_mo_file_matches_the_po_file():
    """The committed .mo holds exactly the .po's translations, so the site shows what the
    .po says without a compile step. (The header is left out: msgfmt drops some of its
    fields; the msgfmt test below compares it.)"""
    expected: dict = {}
    for entry in parse_po(PO_PATH):
        if entry.obsolete or entry.is_header or "fuzzy" in entry.flags:
            continue
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            if entry.msgstr.get(0):
                expected[msgid] = entry.msgstr[0]
        elif all(entry.msgstr.values()):
            expected.update({(msgid, n): text for n, text in entry.msgstr.items()})
    assert MO_PATH.exists(), f"{MO_PATH} is missing: {FIX}"
    actual = mo_catalog(MO_PATH)
    actual.pop("", None)
    differences = sorted(
        repr(key) for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key)
    )
    assert not differences, f"{MO_PATH.name} is out of date ({FIX}):\n" + "\n".join(differences)


def test_po_file_compiles_cleanly_with_msgfmt(tmp_path):
    """msgfmt --check: syntax, header, plural forms and python-format placeholders; its
    output has the same catalogue as the committed .mo."""
    require_tools("msgfmt")
    compiled = tmp_path / "django.mo"
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["msgfmt", "--check", "-o", str(compiled), str(PO_PATH)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert mo_catalog(compiled) == mo_catalog(MO_PATH), f"{MO_PATH.name} is out of date: {FIX}"


@pytest.mark.parametrize(
    ("count", "text"),
    [(1, "1 time slot was created."), (2, "2 time slots were created.")],
)
def test_plural_forms_are_chosen_by_number(count, text):
    with translation.override("en"):
        message = translation.ngettext(
            "%(count)d Zeitfenster wurde angelegt.", "%(count)d Zeitfenster wurden angelegt.", count
        )
    assert message % {"count": count} == text


def test_service_errors_speak_the_active_language():
    from impftermin.core.errors import ServiceError

    error = ServiceError(
        "wrong_district",
        translation.gettext_lazy(
            "Termine gibt es nur in den Impfzentren Ihres Kreises (%(district)s)."
        ),
        district="Münster",
    )
    with translation.override("en"):
        assert error.message == (
            "Appointments are only available at the vaccination centres in your district (Münster)."
        )
    with translation.override("de"):
        assert error.message.startswith("Termine gibt es nur in den Impfzentren")


# The site in English ----------------------------------------------------------------


@pytest.fixture
def region(db):
    from tests.factories import make_centre, make_district, make_region

    region = make_region(name="Westfalen-Lippe", hotline="116117")
    district = make_district(region)
    make_district(region)
    make_centre(district)
    return region


def test_start_page_in_english(client, region):
    response = client.get("/en/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "Vaccination appointments in your region" in page
    assert "Enter your postcode or choose your region." in page
    assert "Booking codes (as in Westfalen-Lippe)" in page
    assert "2 districts" in page
    assert "1 vaccination centre" in page
    assert "Vaccination is free of charge." in page
    assert "Skip to main content" in page
    assert "Impftermine in Ihrer Region" not in page
    # The switch offers German, named in German.
    assert re.search(r'value="de" lang="de"[^>]*>Deutsch</button>', page)


def test_start_page_in_german_without_prefix(client, region):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="de">' in page
    assert "Impftermine in Ihrer Region" in page
    assert "2 Kreise" in page
    assert "1 Impfzentrum" in page
    assert "Vaccination appointments" not in page
    assert re.search(r'value="en" lang="en"[^>]*>English</button>', page)


def switch_form(page: str) -> dict[str, str]:
    """What the page's language switch posts: its `next` and the language on its button."""
    next_url = re.search(r'<input name="next" type="hidden" value="([^"]*)">', page)
    language = re.search(r'<button type="submit" name="language" value="([^"]+)"', page)
    assert next_url and language, "no language switch on the page"
    return {"next": html.unescape(next_url[1]), "language": language[1]}


def test_language_switch_leads_to_english_and_back(client, region):
    form = switch_form(client.get("/").content.decode())
    assert form == {"next": "/", "language": "en"}
    response = client.post("/i18n/setlang/", form, follow=True)
    assert response.redirect_chain[-1][0] == "/en/"
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "Vaccination appointments in your region" in page

    form = switch_form(page)
    assert form == {"next": "/", "language": "de"}
    response = client.post("/i18n/setlang/", form, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    page = response.content.decode()
    assert '<html lang="de">' in page
    assert "Impftermine in Ihrer Region" in page


def test_language_switch_keeps_the_query_string(client, region):
    page = client.get("/en/?region=westfalen-lippe&step=2").content.decode()
    assert switch_form(page)["next"] == "/?region=westfalen-lippe&step=2"
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/?step=2"})
    assert response.url == "/en/?step=2"


def test_admin_login_page_in_english(client, db):
    response = client.get("/en/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/en/admin/login/")
    page = response.content.decode()
    assert "Impftermin – Administration" in page  # noqa: RUF001
    assert "Username" in page
    assert "Log in" in page


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw-admin-1")
    verified_log_in(client, user)
    return client


def test_admin_index_in_english(superuser_client):
    response = superuser_client.get("/en/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en"' in page
    assert "Master data, time slots and bookings" in page
    for name in [
        "Vaccination centres",
        "Appointment pairs",
        "Regions",
        "Districts",
        "Postcodes",
        "Vaccines",
        "Deliveries",
        "Booking",
    ]:
        assert f">{name}<" in page, name
    assert "Impfzentren" not in page


def test_admin_index_in_german(superuser_client):
    page = superuser_client.get("/admin/").content.decode()
    assert "Stammdaten, Zeitfenster und Buchungen" in page
    assert ">Impfzentren<" in page
    assert ">Terminpaare<" in page


def test_admin_change_list_in_english(superuser_client, region):
    page = superuser_client.get("/en/admin/regions/region/").content.decode()
    assert "Select region to change" in page
    assert "Westfalen-Lippe" in page
    assert "Release appointments now" in page
    assert "By booking method" in page
