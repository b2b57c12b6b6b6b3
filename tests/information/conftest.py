import pytest

from tests.information.helpers import seeded


@pytest.fixture
def region(world):
    """The test world's region with the Westfalen-Lippe seed FAQ and hotline details."""
    return seeded(world.region)
