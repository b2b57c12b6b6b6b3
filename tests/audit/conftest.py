import pytest

from impftermin.registrations.letters import print_batch_make
from impftermin.registrations.services import assignments_notify, registrations_assign
from tests.factories import at, make_slot
from tests.registrations.helpers import register


@pytest.fixture
def batch(pool):
    """A print batch with the letter of one phone registration (R17)."""
    make_slot(pool.centre, pool.biontech, at(10, 9, 30), capacity=3)
    make_slot(pool.centre, pool.biontech, at(32, 14, 15), capacity=3, released=False)
    registration = register(pool, channel="phone", password=None, email="")
    assert registrations_assign() == 1
    assignments_notify(registration_ids=[registration.pk])
    return print_batch_make()
