"""Background tasks of the assignment pool: thin wrappers around services."""

from django_tasks import task


@task()
def assign_registrations() -> int:
    """The assignment engine's run over every region's pool (R16)."""
    from impftermin.registrations.services import registrations_assign

    return registrations_assign()


@task()
def notify_assignments(registration_ids: list[int]) -> int:
    """The e-mails of one assignment batch (R16)."""
    from impftermin.registrations.services import assignments_notify

    return assignments_notify(registration_ids=registration_ids)


@task()
def print_letters() -> int:
    """The daily print batch of the letters to people without e-mail (R17), and the PDFs
    of old batches erased; returns how many letters the new batch holds."""
    from impftermin.registrations.letters import print_batch_make, print_batches_expire

    batch = print_batch_make()
    print_batches_expire()
    return batch.letter_count if batch else 0
