from django.db import models
from django.utils.translation import gettext_lazy as _


class ScheduledRun(models.Model):
    """One enqueued run of a periodic job. The unique key (job, period) lets any number of
    schedulers run at once: only the one whose insert succeeds enqueues the task."""

    job = models.CharField(_("Aufgabe"), max_length=100)
    period = models.CharField(_("Zeitraum"), max_length=40)
    task_id = models.CharField(_("Vorgang"), max_length=64, blank=True)
    enqueued_at = models.DateTimeField(_("eingereiht am"), auto_now_add=True)

    class Meta:
        verbose_name = _("geplanter Lauf")
        verbose_name_plural = _("geplante Läufe")
        ordering = ["-enqueued_at"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="scheduled_run_once_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.period}"


class AttemptCounter(models.Model):
    """Attempts against one key (a keyed hash of a Vorgangskennung, an IP address,
    …) in a fixed window: log-in throttling that holds across processes and survives a
    cache outage. A row is reused when its key is tried again; a daily job drops the rest."""

    key = models.CharField(max_length=64, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField()

    class Meta:
        verbose_name = _("Fehlversuche")
        verbose_name_plural = _("Fehlversuche")

    def __str__(self) -> str:
        return f"{self.count} until {self.window_ends:%Y-%m-%d %H:%M}"
