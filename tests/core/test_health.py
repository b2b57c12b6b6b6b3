import pytest


@pytest.mark.django_db
def test_healthz_says_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_readyz_reports_an_unreachable_database(client, monkeypatch):
    from django.db import DatabaseError, connection

    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db
def test_start_page_lists_the_regions(client):
    from tests.factories import make_district, make_region

    region = make_region(name="Hessen")
    make_district(region)
    response = client.get("/")
    assert response.status_code == 200
    assert "Hessen" in response.content.decode()
    assert '<html lang="de">' in response.content.decode()


@pytest.mark.django_db
def test_pages_use_kern_ux_served_from_our_own_host(client):
    page = client.get("/").content.decode()
    assert '/static/kern/kern.min.css"' in page and "https://" not in page.split("<body")[0]
    stylesheet = client.get("/static/kern/kern.min.css")
    assert stylesheet.status_code == 200
    assert b".kern-btn" in b"".join(stylesheet.streaming_content)
    font_css = b"".join(client.get("/static/kern/fonts/fira-sans.css").streaming_content)
    assert b"woff2" in font_css and b"http" not in font_css
