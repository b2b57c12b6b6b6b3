import pytest

from impftermin.regions.models import BookingMode
from tests.factories import make_postcode
from tests.registrations.helpers import REGISTER


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
