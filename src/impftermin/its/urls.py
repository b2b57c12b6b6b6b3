"""The 2021 protocol's paths: the centre list at the site's root, everything else under
a centre group's base URL (`/its/<district AGS>/`)."""

from django.urls import path

from impftermin.its import views

app_name = "its"
urlpatterns = [
    path("assets/static/impfzentren.json", views.centres, name="centres"),
    path("its/openapi.json", views.openapi_schema, name="openapi"),
    path("its/<str:ags>/", views.group_start, name="group"),
    path(
        "its/<str:ags>/assets/static/its/vaccination-list.json",
        views.vaccination_list,
        name="vaccination_list",
    ),
    path("its/<str:ags>/rest/suche/termincheck", views.appointment_check, name="termincheck"),
    path("its/<str:ags>/rest/smspin/anforderung", views.pin_request_view, name="pin_request"),
    path("its/<str:ags>/rest/smspin/verifikation", views.pin_verify_view, name="pin_verify"),
    path("its/<str:ags>/rest/login", views.log_in, name="login"),
    path("its/<str:ags>/rest/suche/impfterminsuche", views.search, name="search"),
    path("its/<str:ags>/rest/buchung", views.book, name="book"),
]
