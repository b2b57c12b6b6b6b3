import pytest
from django.contrib.auth.models import Group

from impftermin.staff.services import roles_setup
from tests.staff.helpers import staff_device

PASSWORD = "ein-gutes-Mitarbeiterpasswort-7"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 in real runs; the log-ins here still go through Django's real check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def roles(db):
    return roles_setup()


@pytest.fixture
def member(roles, django_user_model):
    """member("name", role=AGENT, device=True): an active staff member with the role's group
    and, unless device=False, a confirmed TOTP device (random key)."""

    def make(username, role=None, *, device=True, **fields):
        user = django_user_model.objects.create_user(
            username, password=PASSWORD, is_staff=True, **fields
        )
        if role is not None:
            user.groups.add(Group.objects.get(name=role.group))
        if device:
            staff_device(user)
        return user

    return make
