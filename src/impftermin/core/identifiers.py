"""Identifiers people read, type and say on the phone: random (from `secrets`), from an
alphabet without look-alikes (no 0/O, 1/I/L), shown in groups of four, accepted with or
without dashes and in any case. A check character catches every single typo and every swap
of two neighbours before a lookup: the characters' values weighted by their positions
(1, 2, …) add up to a multiple of 31, the alphabet's size and a prime, so any one wrong
character or swapped neighbours change the sum (up to 30 characters)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # 31 characters
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_N = len(ALPHABET)


def random_string(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _weighted_sum(text: str) -> int:
    return sum(position * _VALUE[c] for position, c in enumerate(text, start=1)) % _N


def check_character(body: str) -> str:
    """The character that makes `body` + it a valid identifier."""
    if len(body) + 1 >= _N:
        raise ValueError("at most 30 characters with the check character")
    weight = len(body) + 1
    # weight * value ≡ -sum (mod 31): multiply by the inverse of the weight (31 is prime).
    value = (-_weighted_sum(body) * pow(weight, -1, _N)) % _N
    return ALPHABET[value]


def has_valid_check(text: str) -> bool:
    if not text or any(c not in _VALUE for c in text):
        return False
    return check_character(text[:-1]) == text[-1]


def grouped(text: str) -> str:
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normalised(text: object, length: int) -> str | None:
    """The identifier as typed, without dashes and spaces, upper case; None if it cannot
    be one (wrong length or characters)."""
    if not isinstance(text, str) or len(text) > max(40, 3 * length):
        return None
    value = "".join(text.split()).replace("-", "").upper()
    if len(value) != length or any(c not in _VALUE for c in value):
        return None
    return value


def keyed_hash(purpose: str, value: str) -> str:
    """A keyed hash (HMAC-SHA256 with the secret key): what we store instead of secrets
    that must be found again by value."""
    key = hashlib.sha256(f"{settings.SECRET_KEY}:{purpose}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# Spelling alphabets for reading an identifier aloud on the phone: German DIN 5009 in its
# traditional form, the international (NATO) one in English. Digits are said as words.
_SPELLING = {
    "de": dict(
        zip(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ0123456789",
            [
                *("Anton", "Berta", "Cäsar", "Dora", "Emil", "Friedrich", "Gustav"),
                *("Heinrich", "Ida", "Julius", "Kaufmann", "Ludwig", "Martha", "Nordpol"),
                *("Otto", "Paula", "Quelle", "Richard", "Samuel", "Theodor", "Ulrich"),
                *("Viktor", "Wilhelm", "Xanthippe", "Ypsilon", "Zacharias"),
                *("Ärger", "Ökonom", "Übermut"),
                *("Null", "Eins", "Zwei", "Drei", "Vier", "Fünf", "Sechs", "Sieben", "Acht"),
                "Neun",
            ],
            strict=True,
        )
    ),
    "en": dict(
        zip(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            [
                *("Alfa", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"),
                *("India", "Juliett", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa"),
                *("Quebec", "Romeo", "Sierra", "Tango", "Uniform", "Victor", "Whiskey"),
                *("X-ray", "Yankee", "Zulu"),
                *("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight"),
                "Nine",
            ],
            strict=True,
        )
    ),
}
SPELLED_GROUP_SEPARATOR = " \N{EN DASH} "


def spelled(text: str, language: str = "de") -> str:
    """`text` spelled for reading aloud: each letter and digit as its word of the
    language's spelling alphabet (German if the language has none), separated by spaces;
    groups (split by dashes or spaces, as `grouped` shows them) separated by a dash,
    SPELLED_GROUP_SEPARATOR. E.g. spelled("AB-C2") reads "Anton Berta", the dash, "Cäsar Zwei"."""
    words = _SPELLING.get((language or "de").split("-")[0].lower(), _SPELLING["de"])
    groups = [g for g in str(text).replace("-", " ").split() if g]
    return SPELLED_GROUP_SEPARATOR.join(
        " ".join(words.get(c, c) for c in group.upper()) for group in groups
    )
