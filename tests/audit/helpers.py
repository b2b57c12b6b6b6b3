from django.contrib.auth.models import Permission, User


def staff(username: str, *permissions: str, **fields) -> User:
    """A staff member with the given permissions (codenames), nothing more."""
    user = User.objects.create_user(username, password="x", is_staff=True, **fields)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user
