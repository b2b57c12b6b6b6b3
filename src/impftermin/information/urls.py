from django.urls import path

from impftermin.information import views

app_name = "information"
urlpatterns = [
    path("<slug:region>/", views.faq, name="faq"),
    path("<slug:region>/<slug:key>/", views.page, name="page"),
]
