"""A claim (SENDING) is now a lease that runs out at next_attempt_at (notifications.services).
Messages being sent when this is deployed get a lease from now: none is stuck, none is
taken over while an old worker may still be sending it."""

import datetime as dt

from django.db import migrations
from django.utils import timezone


def lease_from_now(apps, schema_editor):
    OutboundMessage = apps.get_model("notifications", "OutboundMessage")
    OutboundMessage.objects.filter(status="sending").update(
        next_attempt_at=timezone.now() + dt.timedelta(minutes=10)
    )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_outboundmessage_attachment")]
    operations = [migrations.RunPython(lease_from_now, migrations.RunPython.noop)]
