"""The world of `test_postgres_restart.py`, built in a process of its own against the test's
own PostgreSQL server (DATABASE_URL in the environment): migrate, one region in codes mode,
a first-dose slot with SEATS seats, a second-dose slot, a partner key and PEOPLE sets of
phone codes. Prints what the test needs as JSON.

    python -m tests.booking.restart_world PEOPLE SEATS
"""

from __future__ import annotations

import json
import os
import sys


def build(people: int, seats: int) -> dict:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from impftermin.codes.services import code_set_issue_by_phone
    from tests.api.helpers import make_partner
    from tests.factories import at, make_postcode, make_slot, make_world

    world = make_world()
    make_postcode("48143", world.district)
    first = make_slot(world.centre, world.biontech, at(4, 9), capacity=seats)
    second = make_slot(world.centre, world.biontech, at(26, 9), capacity=people, released=False)
    _partner, _key, key = make_partner(world.region)
    issued = [
        code_set_issue_by_phone(region_id=world.region.pk, vaccine_id=world.biontech.pk)
        for _person in range(people)
    ]
    return {
        "district": world.district.ags,
        "centre": world.centre.pk,
        "first_slot": first.pk,
        "second_slot": second.pk,
        "key": key,
        "codes": [person.codes[0] for person in issued],
        "holders": {person.codes[0]: person.code_set.holder for person in issued},
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impftermin.settings")
    import django

    django.setup()
    print(json.dumps(build(int(sys.argv[1]), int(sys.argv[2]))))
