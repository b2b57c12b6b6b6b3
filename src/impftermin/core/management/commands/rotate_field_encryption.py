from django.core.management.base import BaseCommand
from django.db import connection

from impftermin.core.encryption import ENCRYPTED_COLUMNS, encrypt_columns, with_newest_key


class Command(BaseCommand):
    help = (
        "Encrypt every encrypted field again with the first of FIELD_ENCRYPTION_KEYS (and any"
        " value still in clear text); after it, older keys are needed only for backups."
    )

    def handle(self, *args, **options):
        for table, columns in ENCRYPTED_COLUMNS.items():
            # batch by batch, each its own short transaction (see encrypt_columns)
            changed = encrypt_columns(connection, table, columns, change=with_newest_key)
            self.stdout.write(f"{table}: {changed} values encrypted with the newest key")
