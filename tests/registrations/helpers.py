"""A region in assignment mode with a population register, and registering in it."""

import datetime as dt

from impftermin.registrations.services import registration_create

REGISTER = """last_name,first_name,birth_date,street,postcode,city
Muster,Erika,1950-03-15,Rheinstraße 12,48143,Münster
Muster,Max,1948-11-02,Rheinstraße 12,48143,Münster
Weiß,Jürgen,1939-12-24,Luisenplatz 1,48143,Münster
"""
PASSWORD = "ein-langes-Passwort-2021"


def register(pool, **fields):
    data = {
        "region_id": pool.region.pk,
        "first_name": "Erika",
        "last_name": "Muster",
        "birth_date": dt.date(1950, 3, 15),
        "street": "Rheinstraße 12",
        "postcode": "48143",
        "city": "Münster",
        "residence": "first",
        "centre_id": pool.centre.pk,
        "vaccine_id": pool.biontech.pk,
        "email": "erika@example.org",
        "password": PASSWORD,
    }
    return registration_create(**(data | fields))
