from django.urls import path

from impftermin.codes import views

app_name = "codes"
urlpatterns = [
    path("email-bestaetigen/<str:token>/", views.confirm_email, name="confirm_email"),
]
