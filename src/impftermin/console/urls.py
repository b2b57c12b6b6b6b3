from django.urls import path

from impftermin.console import codes_urls, registration_urls, views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("statistik/", views.call_statistics, name="statistics"),
    *codes_urls.urlpatterns,  # codes mode (Westfalen-Lippe): book, look up by code
    *registration_urls.urlpatterns,  # assignment mode (Hessen): registrations
]
