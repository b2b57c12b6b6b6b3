"""The project's URLs and one staff page outside the admin, as the console's will be."""

from django.http import HttpResponse
from django.urls import path

from impftermin.staff.decorators import staff_required
from impftermin.urls import urlpatterns as project_urlpatterns


@staff_required(permission="staff.use_console")
def console(request):
    return HttpResponse("Konsole")


urlpatterns = [path("konsole-test/", console), *project_urlpatterns]
