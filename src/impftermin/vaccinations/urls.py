from django.urls import path

from impftermin.vaccinations import views

app_name = "vaccinations"
urlpatterns = [
    path("", views.centres, name="centres"),
    path("statistik/", views.statistics, name="statistics"),
    path("planung/", views.planning_centres, name="planning_centres"),
    path("planung/<int:centre_id>/", views.planning, name="planning"),
    path("statistik/impfungen.csv", views.daily_export, name="daily_export"),
    path("<int:centre_id>/", views.desk_view, name="desk"),
    path("<int:centre_id>/einchecken/", views.check_in, name="check_in"),
    path("<int:centre_id>/impfung/", views.vaccinate, name="vaccinate"),
    path("<int:centre_id>/zweittermin/", views.second_appointment, name="second_appointment"),
]
