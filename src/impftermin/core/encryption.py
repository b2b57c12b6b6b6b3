"""Fields encrypted at rest (issue 10, item 6): the personal data that no query looks up
by value — a registered person's first name, address and mobile number, the texts and
attachments of outgoing messages (booking codes, links, times). A copy of the database or
of a backup shows them only as Fernet tokens (AES-128-CBC with HMAC-SHA256, from the
`cryptography` package); the app decrypts them as it reads them.

Keys: `FIELD_ENCRYPTION_KEYS`, Fernet keys, newest first: the first encrypts, all decrypt
(rotation: put a new key first, run `manage.py rotate_field_encryption`, then drop the old
one). Production must set them (kept apart from the database and from SECRET_KEY); in
development a key is derived from SECRET_KEY.

The empty text stays empty (blank fields and erased data need no NULL); such a field can be
compared only with the empty text or NULL — a value encrypted twice never looks the same,
so any other lookup would silently find nothing and is refused instead, as are transforms.
Ordering by such a field, grouping by it or updating it with a database expression
(Upper, Concat) would work on the tokens: don't; do it in Python after reading.

A value that is not a token is clear text written before the field was encrypted (during
the release that introduced it, old and new code run side by side): it is read as it is,
and the migration, or `rotate_field_encryption`, encrypts it. A token that no key opens is
an error, never shown as if it were the value."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.lookups import Exact, IsNull


def field_keys() -> tuple[str, ...]:
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if keys:
        return keys
    derived = hashlib.sha256(f"{settings.SECRET_KEY}:field-encryption".encode()).digest()
    return (base64.urlsafe_b64encode(derived).decode(),)


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])  # checked by the settings


def encrypt(text: str) -> str:
    return _fernet(field_keys()).encrypt(text.encode()).decode()


# Every Fernet token starts so: version 0x80 and the first bytes of a 64-bit timestamp
# (zero until the year 2106), in URL-safe base64.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - not a secret


def is_token(value: str) -> bool:
    """Shaped like a Fernet token: the prefix, URL-safe base64, version 0x80, and the
    length of 57 bytes plus whole AES blocks — typed text does not look like this."""
    if not value.startswith(TOKEN_PREFIX):
        return False
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (ValueError, binascii.Error):
        return False
    return raw[0] == 0x80 and len(raw) >= 73 and (len(raw) - 57) % 16 == 0


def decrypt(token: str) -> str:
    if not is_token(token):
        return token  # clear text from before the encryption (see the module)
    try:
        return _fernet(field_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        # a key was dropped too early, or the data was written with another one: loud,
        # never the token shown as if it were the value
        raise ImproperlyConfigured(
            "A value cannot be decrypted with FIELD_ENCRYPTION_KEYS (was a key removed?)"
        ) from exc


def encrypted(value: str) -> str:
    """Clear text encrypted; a token as it is."""
    return value if is_token(value) else encrypt(value)


def with_newest_key(value: str) -> str:
    """A token encrypted again with the newest key; clear text encrypted."""
    if not is_token(value):
        return encrypt(value)
    return _fernet(field_keys()).rotate(value.encode()).decode()


class _ComparedWithEmptyOnly(Exact):
    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise ValueError(f"{self.lhs.field.name} is encrypted: it can be compared only with ''")
        return super().get_prep_lookup()


class EncryptedMixin:
    """Stores non-empty values as Fernet tokens in a text column; see the module."""

    def get_internal_type(self) -> str:
        return "TextField"  # a token is longer than the text it hides

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(str(value))

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_lookup(self, lookup_name):
        return {"exact": _ComparedWithEmptyOnly, "isnull": IsNull}.get(lookup_name)

    def get_transform(self, lookup_name):
        return None  # city__upper, street__length: they would work on the tokens


class EncryptedCharField(EncryptedMixin, models.CharField):
    pass  # max_length holds for the text, checked by forms and full_clean


class EncryptedTextField(EncryptedMixin, models.TextField):
    pass


ENCRYPTED_COLUMNS = {
    # table: columns — what rotate_field_encryption re-encrypts
    "registrations_registration": ("first_name", "street", "city", "mobile"),
    "notifications_outboundmessage": ("body", "attachment"),
}


def encrypting_migration(table: str, columns: tuple[str, ...]):
    """The migration step that encrypts the clear values already stored in the columns
    (and decrypts them when the migration is reversed). Batch by batch, each committed on
    its own (the migration is not atomic): the app reads both meanwhile; running it again
    changes only what is still clear."""
    from django.db import migrations

    def forward(apps, schema_editor):
        encrypt_columns(schema_editor.connection, table, columns, change=encrypted)

    def backward(apps, schema_editor):
        encrypt_columns(schema_editor.connection, table, columns, change=decrypt)

    return migrations.RunPython(forward, backward)


def encrypt_columns(connection, table: str, columns: tuple[str, ...], *, change) -> int:
    """Apply `change` (encrypted, with_newest_key or decrypt) to every non-empty value of
    the columns, 1,000 rows a transaction; returns how many values changed. A value is
    written back only if its column still holds what was read: one the app changed
    meanwhile (an erasure, say) keeps the app's newer value, which the app wrote with the
    newest key anyway. Raw SQL: the first migration runs while rows still hold clear
    text."""
    quote = connection.ops.quote_name
    select = (
        f"SELECT id, {', '.join(map(quote, columns))} FROM {quote(table)}"  # noqa: S608 - names from the code
        " WHERE id > %s ORDER BY id LIMIT 1000"
    )
    update = (
        f"UPDATE {quote(table)} SET "  # noqa: S608 - names from the code
        + ", ".join(
            f"{quote(c)} = CASE WHEN {quote(c)} = %s THEN %s ELSE {quote(c)} END" for c in columns
        )
        + f" WHERE id = %s RETURNING {', '.join(map(quote, columns))}"
    )
    changed, last = 0, 0
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(select, [last])
            rows = cursor.fetchall()
            for pk, *values in rows:
                new = [change(v) if v else v for v in values]
                if new != values:
                    pairs = zip(values, new, strict=True)
                    cursor.execute(update, [*(x for pair in pairs for x in pair), pk])
                    stored = cursor.fetchone() or values
                    changed += sum(
                        1
                        for old, value, now in zip(values, new, stored, strict=True)
                        if value != old and now == value
                    )
        if not rows:
            return changed
        last = rows[-1][0]
