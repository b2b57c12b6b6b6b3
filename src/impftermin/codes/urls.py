from django.urls import path

from impftermin.codes import views

app_name = "codes"
urlpatterns = [
    path("", views.start, name="start"),
    path("alter/", views.eligibility, name="eligibility"),
    path("pin/", views.pin_request_view, name="pin_request"),
    path("pin/eingeben/", views.pin_enter, name="pin_enter"),
    path("email-bestaetigen/<str:token>/", views.confirm_email, name="confirm_email"),
    path("buchen/", views.book, name="book"),
    path("buchen/termine/", views.choose, name="choose"),
    path("buchen/bestaetigung/", views.confirmation, name="confirmation"),
    path("pruefen/", views.check, name="check"),
    path("pruefen/termin/", views.booking_detail, name="booking"),
    path("pruefen/stornieren/", views.cancel, name="cancel"),
    path("pruefen/meine-daten.json", views.data_export, name="data_export"),
    path("pruefen/daten-loeschen/", views.erase, name="erase"),
    path("warteliste/", views.standby_join_view, name="standby_join"),
    path("warteliste/angebot/<str:token>/", views.standby_offer_view, name="standby_offer"),
]
