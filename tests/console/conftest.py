import pytest
from django.contrib.auth.models import Group, User

from impftermin.staff import roles
from impftermin.staff.services import roles_setup


@pytest.fixture
def member(db):
    """member(username, role=AGENT): a staff member holding that role."""
    roles_setup()

    def make(username, role=roles.AGENT):
        user = User.objects.create_user(username, password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=role.group))
        return user

    return make
