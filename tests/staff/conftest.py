import pytest
from django.contrib.auth.models import Group

from impftermin.regions.models import BookingMode
from impftermin.staff.services import roles_setup
from tests.factories import make_postcode
from tests.registrations.helpers import REGISTER
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


@pytest.fixture
def pool(world, settings, tmp_path):
    """The test world as a region in assignment mode, with a register file."""
    world.region.booking_mode = BookingMode.ASSIGNMENT
    world.region.save()
    make_postcode("48143", world.district)
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")
    settings.POPULATION_REGISTER_FILE = register
    return world
