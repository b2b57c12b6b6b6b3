import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The demo accounts' passwords are hashed with Argon2 in real runs; a fast hasher
    keeps these tests quick. The demo log-ins still go through Django's real check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
