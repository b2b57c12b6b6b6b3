import os

from django.core.management.base import BaseCommand, CommandError

from impftermin.audit.retention import audit_entries_expire


class Command(BaseCommand):
    help = (
        "Delete audit entries older than RETENTION_AUDIT_DAYS, connected as the audit table's"
        " owner (AUDIT_OWNER_DATABASE_URL), a PostgreSQL role apart from the application's."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--owner-database-url",
            default=os.environ.get("AUDIT_OWNER_DATABASE_URL", ""),
            help="postgres://owner@host/db (default: $AUDIT_OWNER_DATABASE_URL)",
        )

    def handle(self, *args, owner_database_url: str, **options):
        if not owner_database_url.startswith(("postgres://", "postgresql://")):
            raise CommandError(
                "Set AUDIT_OWNER_DATABASE_URL (or --owner-database-url) to a postgres:// URL"
                " of the role that owns the audit table; the application's role cannot delete"
                " audit entries."
            )
        deleted = audit_entries_expire(owner_database_url=owner_database_url)
        self.stdout.write(f"audit log: {deleted} entries older than the retention period deleted")
