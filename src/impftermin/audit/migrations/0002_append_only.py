"""The audit log is append-only for every client of the database, not just the ORM: on
PostgreSQL a trigger refuses any UPDATE or DELETE of the table (SQLite relies on the
model's refusal).

Retention (issue 10): old entries are deleted by a separate, privileged database role
outside the application (the table's owner, in a maintenance job that disables this
trigger for its own transaction). The application's role must then neither own the table
nor be allowed to ALTER it or its triggers, nor to TRUNCATE it (a trigger cannot refuse
TRUNCATE without breaking the test suite's flush). Do not add a way around the trigger here.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_auditentry_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_auditentry_append_only
    BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditentry_refuse_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_auditentry_refuse_change();
"""


class PostgresOnlyRunSQL(migrations.RunSQL):
    """RunSQL on PostgreSQL; nothing on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        PostgresOnlyRunSQL(sql=FORWARD, reverse_sql=REVERSE),
    ]
