from django.urls import path

from impftermin.registrations import views

app_name = "registrations"
urlpatterns = [
    path("registrierung/", views.start, name="start"),
    path("registrierung/angaben/", views.details, name="details"),
    path("registrierung/fertig/", views.registered, name="registered"),
    path("konto/", views.account, name="account"),
    path("konto/anmelden/", views.log_in, name="log_in"),
    path("konto/abmelden/", views.log_out, name="log_out"),
    path("konto/termine.pdf", views.document, name="document"),
    path("konto/meine-daten.json", views.data_export, name="data_export"),
    path("konto/termin-waehlen/", views.choose, name="choose"),
    path("konto/sofort/", views.short_notice, name="short_notice"),
    path("konto/stornieren/", views.cancel, name="cancel"),
    path("konto/loeschen/", views.delete, name="delete"),
    path("konto/passwort-vergessen/", views.password_forgotten, name="password_forgotten"),
    path("konto/passwort/<str:uid>/<str:token>/", views.password_reset, name="password_reset"),
]
