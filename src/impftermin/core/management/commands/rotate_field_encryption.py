from django.core.management.base import BaseCommand
from django.db import connection, transaction

from impftermin.core.encryption import ENCRYPTED_COLUMNS, encrypt_columns, rotate


class Command(BaseCommand):
    help = (
        "Encrypt every encrypted field again with the first of FIELD_ENCRYPTION_KEYS; after"
        " it, the older keys can be dropped."
    )

    def handle(self, *args, **options):
        for table, columns in ENCRYPTED_COLUMNS.items():
            with transaction.atomic():  # one table at a time: all its values or none
                changed = encrypt_columns(connection, table, columns, change=rotate)
            self.stdout.write(f"{table}: {changed} values encrypted with the newest key")
