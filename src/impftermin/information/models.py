"""What people read before they book (issue 11): each region's FAQ entries, quick guides and
free pages (about, imprint, privacy notice, accessibility statement), written by operators
in German and English, with a plain-language German variant where one is written. Texts are
Markdown; `markdown.render` turns them into sanitised HTML (no raw HTML ever)."""

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from impftermin.regions.models import Region


class Text(models.Model):
    """What entries and pages share: where they belong, their order, and when the text was
    last checked ("Stand", shown with it)."""

    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, related_name="+", verbose_name=_("Region")
    )
    key = models.SlugField(
        _("Kurzname"),
        max_length=80,
        help_text=_("Für Links, z. B. pin-gueltigkeit. Nach dem Anlegen nicht mehr ändern."),
    )
    order = models.PositiveIntegerField(_("Reihenfolge"), default=100)
    as_of = models.DateField(
        _("Stand"),
        default=timezone.localdate,
        help_text=_(
            "Wird beim Ändern des Textes auf heute gesetzt, wenn Sie ihn nicht selbst ändern."
        ),
    )
    published = models.BooleanField(_("veröffentlicht"), default=True)
    updated_at = models.DateTimeField(_("geändert"), auto_now=True)

    class Meta:
        abstract = True


class FaqEntry(Text):
    category_de = models.CharField(_("Kategorie (Deutsch)"), max_length=100)
    category_en = models.CharField(_("Kategorie (Englisch)"), max_length=100, blank=True)
    question_de = models.CharField(_("Frage (Deutsch)"), max_length=300)
    question_en = models.CharField(_("Frage (Englisch)"), max_length=300, blank=True)
    answer_de = models.TextField(_("Antwort (Deutsch)"), max_length=20000)
    answer_en = models.TextField(_("Antwort (Englisch)"), max_length=20000, blank=True)
    answer_plain_de = models.TextField(
        _("Antwort in Einfacher Sprache"),
        max_length=20000,
        blank=True,
        help_text=_("Freiwillig: kurze Sätze, bekannte Wörter."),
    )

    class Meta:
        verbose_name = _("FAQ-Eintrag")
        verbose_name_plural = _("FAQ-Einträge")
        ordering = ["region", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["region", "key"], name="faq_entry_key_unique"),
            models.CheckConstraint(condition=~Q(question_de=""), name="faq_entry_has_question"),
        ]

    def __str__(self) -> str:
        return self.question_de

    def get_absolute_url(self) -> str:
        return f"{reverse('information:faq', args=[self.region.slug])}#{self.key}"


class PageKind(models.TextChoices):
    GUIDE = "guide", _("Kurzanleitung")
    ABOUT = "about", _("Über uns")
    IMPRINT = "imprint", _("Impressum")
    PRIVACY = "privacy", _("Datenschutzerklärung")
    ACCESSIBILITY = "accessibility", _("Erklärung zur Barrierefreiheit")
    OTHER = "other", _("Sonstige Seite")


class Page(Text):
    kind = models.CharField(_("Art"), max_length=20, choices=PageKind)
    title_de = models.CharField(_("Titel (Deutsch)"), max_length=200)
    title_en = models.CharField(_("Titel (Englisch)"), max_length=200, blank=True)
    body_de = models.TextField(_("Text (Deutsch)"), max_length=50000)
    body_en = models.TextField(_("Text (Englisch)"), max_length=50000, blank=True)
    body_plain_de = models.TextField(
        _("Text in Einfacher Sprache"),
        max_length=50000,
        blank=True,
        help_text=_("Freiwillig: kurze Sätze, bekannte Wörter."),
    )

    class Meta:
        verbose_name = _("Seite")
        verbose_name_plural = _("Seiten und Kurzanleitungen")
        ordering = ["region", "kind", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["region", "key"], name="page_key_unique"),
            models.CheckConstraint(condition=Q(kind__in=PageKind.values), name="page_kind_valid"),
            models.CheckConstraint(condition=~Q(title_de=""), name="page_has_title"),
        ]

    def __str__(self) -> str:
        return self.title_de

    def get_absolute_url(self) -> str:
        return reverse("information:page", args=[self.region.slug, self.key])
