"""The staff roles and their permissions: the one definition (ARCHITECTURE.md, "Roles").

Each role is a Django auth group of that name holding exactly these permissions;
`manage.py setup_roles` (services.roles_setup) creates or corrects the groups, idempotently,
after every migrate. A staff member gets a role by joining its group (and `is_staff` for the
log-in). The admin role is Django's superuser, not a group.

Permissions are written "app_label.codename", as `user.has_perm` takes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ALL = ("view", "add", "change", "delete")


def model_permissions(model: str, *actions: str) -> frozenset[str]:
    """E.g. ("regions.region", "view") -> {"regions.view_region"}."""
    app_label, model_name = model.split(".")
    return frozenset(f"{app_label}.{action}_{model_name}" for action in actions)


@dataclass(frozen=True)
class Role:
    key: str
    group: str  # the auth group's name: stable, it is how users hold the role
    label: str | Promise
    permissions: frozenset[str]


# Call center: books, registers, looks up by code or Vorgangskennung + birth date, rebooks
# (the console of issue 6). No admin data at all.
AGENT = Role(
    key="agent",
    group="Agent",
    label=_("Call-Center-Agent"),
    permissions=frozenset({"staff.use_console"}),
)

# An agent's work, the agents' call statistics and the audit log (read only: the audit app
# gives nobody add, change or delete).
SUPERVISOR = Role(
    key="supervisor",
    group="Supervisor",
    label=_("Call-Center-Leitung"),
    permissions=AGENT.permissions | {"staff.view_call_statistics", "audit.view_auditentry"},
)

# The check-in desk (issue 7): the day's list, check-in and the dose given, at the centres
# an operator assigned them to (Centre.staff); slots and pairs read only in the back office.
CENTRE_STAFF = Role(
    key="centre_staff",
    group="Centre staff",
    label=_("Personal im Impfzentrum"),
    permissions=model_permissions("booking.slot", "view")
    | model_permissions("booking.appointmentpair", "view")
    | model_permissions("booking.appointment", "view")
    | {"vaccinations.check_in"},
)

# Regions, districts, postcodes, vaccines, deliveries, centres, slots and pairs; deciding
# on registrations held by the population-register check (R14: view and change, which the
# review actions need); the daily print batches of letters (R17) and their letters; the
# regions' information pages (FAQ, quick guides, imprint and other pages); partner systems
# of the API with their keys and webhooks, the deliveries and call log read only; the
# regions' waiting rooms (issue 9).
OPERATOR = Role(
    key="operator",
    group="Operator",
    label=_("Betrieb"),
    permissions=frozenset().union(
        *(
            model_permissions(model, *ALL)
            for model in (
                "regions.region",
                "regions.district",
                "regions.postcode",
                "vaccines.vaccine",
                "vaccines.delivery",
                "vaccines.districtallocation",
                "centres.centre",
                "centres.openinghours",
                "centres.centrecapacity",
                "centres.centreclosure",
                "booking.slot",
                "booking.appointmentpair",
                "booking.appointment",
                "information.faqentry",
                "information.page",
                "api.partner",
                "api.apikey",
                "api.webhook",
                "waitingroom.waitingroom",
            )
        ),
        model_permissions("api.webhookdelivery", "view"),
        model_permissions("api.partnercall", "view"),
        model_permissions("registrations.registration", "view", "change"),
        model_permissions("registrations.printbatch", "view"),
        model_permissions("registrations.letter", "view"),
        model_permissions("vaccinations.vaccination", "view"),
    ),
)

ROLES: tuple[Role, ...] = (AGENT, SUPERVISOR, CENTRE_STAFF, OPERATOR)
ROLES_BY_KEY = {role.key: role for role in ROLES}
