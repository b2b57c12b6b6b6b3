"""Operators write the information pages in the back office. Saving goes through
`information_text_save`, which dates a changed text "as of" today."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from impftermin.information.models import FaqEntry, Page
from impftermin.information.services import information_text_save

MARKDOWN_HELP = _(
    "Markdown: Leerzeile für einen neuen Absatz, - für Listen, **fett**, [Text](https://…). HTML wird nicht ausgeführt, sondern als Text gezeigt."
)


class InformationTextAdmin(admin.ModelAdmin):
    list_filter = ["region", "published"]
    readonly_fields = ["updated_at"]
    save_on_top = True

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        for name, field in form.base_fields.items():
            if name.startswith(("answer", "body")):
                field.help_text = f"{field.help_text} {MARKDOWN_HELP}".strip()
        return form

    def save_model(self, request, obj, form, change):
        # The form compares the date with the one the operator opened (its hidden
        # initial value), so a date left alone is not "set by hand" even when someone
        # else saved the text meanwhile.
        information_text_save(text=obj, date_set_by_hand="as_of" in form.changed_data)


@admin.register(FaqEntry)
class FaqEntryAdmin(InformationTextAdmin):
    list_display = ["question_de", "region", "category_de", "order", "as_of", "published"]
    list_filter = ["region", "category_de", "published"]
    search_fields = ["question_de", "question_en", "answer_de", "answer_en"]
    fieldsets = [
        (None, {"fields": ["region", "key", "category_de", "category_en", "order"]}),
        (_("Deutsch"), {"fields": ["question_de", "answer_de", "answer_plain_de"]}),
        (_("Englisch"), {"fields": ["question_en", "answer_en"]}),
        (_("Veröffentlichung"), {"fields": ["as_of", "published", "updated_at"]}),
    ]


@admin.register(Page)
class PageAdmin(InformationTextAdmin):
    list_display = ["title_de", "region", "kind", "order", "as_of", "published"]
    list_filter = ["region", "kind", "published"]
    search_fields = ["title_de", "title_en", "body_de", "body_en"]
    fieldsets = [
        (None, {"fields": ["region", "kind", "key", "order"]}),
        (_("Deutsch"), {"fields": ["title_de", "body_de", "body_plain_de"]}),
        (_("Englisch"), {"fields": ["title_en", "body_en"]}),
        (_("Veröffentlichung"), {"fields": ["as_of", "published", "updated_at"]}),
    ]
