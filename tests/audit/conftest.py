import pytest

from impftermin.regions.models import BookingMode
from impftermin.registrations.letters import print_batch_make
from impftermin.registrations.services import assignments_notify, registrations_assign
from tests.factories import at, make_postcode, make_slot
from tests.registrations.helpers import REGISTER, register


@pytest.fixture
def pool(world, settings, tmp_path):
    """The test world as a region in assignment mode, with a register file."""
    world.region.booking_mode = BookingMode.ASSIGNMENT
    world.region.save()
    make_postcode("48143", world.district)
    register_file = tmp_path / "register.csv"
    register_file.write_text(REGISTER, encoding="utf-8")
    settings.POPULATION_REGISTER_FILE = register_file
    return world


@pytest.fixture
def batch(pool):
    """A print batch with the letter of one phone registration (R17)."""
    make_slot(pool.centre, pool.biontech, at(10, 9, 30), capacity=3)
    make_slot(pool.centre, pool.biontech, at(32, 14, 15), capacity=3, released=False)
    registration = register(pool, channel="phone", password=None, email="")
    assert registrations_assign() == 1
    assignments_notify(registration_ids=[registration.pk])
    return print_batch_make()
