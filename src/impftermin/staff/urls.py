from django.urls import path

from impftermin.staff import views

app_name = "staff"

urlpatterns = [
    path("code/", views.verify, name="verify"),
    path("code/einrichten/", views.enrol, name="enrol"),
    path("abmelden/", views.log_out, name="log_out"),
]
