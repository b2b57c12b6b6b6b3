"""The console's pages for codes-mode regions (Westfalen-Lippe): /callcenter/codes/…"""

from django.urls import path

from impftermin.console import codes_views

urlpatterns: list = [
    path("codes/buchen/", codes_views.book, name="codes_book"),
    path("codes/buchen/termine/", codes_views.book_times, name="codes_book_times"),
    path("codes/suchen/", codes_views.lookup, name="codes_lookup"),
    path("codes/buchung/", codes_views.booking_detail, name="codes_booking"),
    path("codes/buchung/umbuchen/", codes_views.rebook, name="codes_rebook"),
    path("codes/buchung/stornieren/", codes_views.cancel, name="codes_cancel"),
    path("codes/anruf-beenden/", codes_views.call_end, name="codes_call_end"),
]
