from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from impftermin.api.api import api
from impftermin.core import views as core_views
from impftermin.waitingroom import views as waiting_room_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "warteraum/aktualisieren/", waiting_room_views.refresh_switch, name="waiting_room_refresh"
    ),
    path("api/v1/", api.urls),  # the OpenAPI for partners (issue 8), no language prefix
    path("", include("impftermin.its.urls")),  # the 2021 protocol: fixed paths, no language
]
urlpatterns += i18n_patterns(
    path("", core_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("mitarbeiter/", include("impftermin.staff.urls")),
    path("callcenter/", include("impftermin.console.urls")),
    path("termin/", include("impftermin.codes.urls")),
    path("info/", include("impftermin.information.urls")),
    path("zentrum/", include("impftermin.vaccinations.urls")),
    path("", include("impftermin.registrations.urls")),
    prefix_default_language=False,
)

handler500 = "impftermin.core.views.server_error"  # 503 while the database is away
