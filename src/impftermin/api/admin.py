"""Operators manage partner systems in the back office: their regions and scopes, keys
(made here and shown once, revoked here), webhooks (the signing secret shown to hand on to
the partner), the deliveries and the call log (read only)."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from impftermin.api.models import ApiKey, Partner, PartnerCall, Scope, Webhook, WebhookDelivery
from impftermin.api.services import (
    api_key_issue,
    api_key_revoke,
    webhook_secret_new,
    webhook_url_allowed,
)


class PartnerForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Befugnisse"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Partner
        fields = ["name", "regions", "scopes", "active"]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["prefix", "label", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # keys are made by the action, which shows the key once


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    form = PartnerForm
    list_display = ["name", "active", "created_at"]
    filter_horizontal = ["regions"]
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    @admin.action(description=_("Neuen API-Schlüssel erzeugen (wird einmal angezeigt)"))
    def issue_key(self, request, queryset):
        for partner in queryset:
            _key, text = api_key_issue(partner_id=partner.pk, label=request.user.get_username())
            messages.warning(
                request,
                _("Schlüssel für %(partner)s (nur jetzt sichtbar, bitte sicher übergeben): %(key)s")
                % {"partner": partner.name, "key": text},
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "partner", "label", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["partner", "revoked_at"]
    readonly_fields = ["partner", "prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["partner", "prefix", "label", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Schlüssel widerrufen"))
    def revoke(self, request, queryset):
        count = sum(api_key_revoke(key_id=key.pk) for key in queryset)
        messages.success(request, _("%(count)d Schlüssel widerrufen.") % {"count": count})


class WebhookForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")

    class Meta:
        model = Webhook
        fields = ["partner", "url", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not webhook_url_allowed(url):
            raise forms.ValidationError(_("Webhooks werden nur an https-Adressen gesendet."))
        return url


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ["url", "partner", "active"]
    readonly_fields = ["secret"]

    def save_model(self, request, obj, form, change):
        if not obj.secret:
            obj.secret = webhook_secret_new()
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "webhook", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "event"]


@admin.register(PartnerCall)
class PartnerCallAdmin(ReadOnlyAdmin):
    list_display = ["at", "key", "operation", "status", "which"]
    list_filter = ["operation", "status"]
    date_hierarchy = "at"
