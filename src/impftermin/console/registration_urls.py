"""Assignment mode (Hessen): registrations in the call-center console (issue 6 item 3)."""

from django.urls import path

from impftermin.console import registration_views as views

urlpatterns = [
    path("registrierungen/", views.registration_find, name="registration_find"),
    path("registrierungen/anruf/", views.registration_detail, name="registration_detail"),
    path("registrierungen/anruf/ende/", views.registration_end, name="registration_end"),
    path("registrierungen/anruf/termin/", views.registration_choose, name="registration_choose"),
    path(
        "registrierungen/anruf/stornieren/", views.registration_cancel, name="registration_cancel"
    ),
    path("registrierungen/anruf/loeschen/", views.registration_delete, name="registration_delete"),
    path("registrierungen/anruf/gemeinsam/", views.registration_couple, name="registration_couple"),
    path(
        "registrierungen/anruf/trennen/",
        views.registration_uncouple,
        name="registration_uncouple",
    ),
    path("registrierungen/neu/", views.registration_new, name="registration_new"),
    path(
        "registrierungen/neu/angaben/",
        views.registration_new_details,
        name="registration_new_details",
    ),
    path("registrierungen/neu/fertig/", views.registration_created, name="registration_created"),
]
