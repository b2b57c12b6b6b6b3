import signal
import time

from django.core.management.base import BaseCommand

from impftermin.core.scheduling import scheduled_jobs_enqueue


class Command(BaseCommand):
    help = "Enqueue the daily tasks (slot release, …) when they are due; runs until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="check once and exit")
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between checks")

    def handle(self, *args, once: bool, interval: float, **options):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        while True:
            for name in scheduled_jobs_enqueue():
                self.stdout.write(f"scheduler: enqueued {name}")
            if once or stopping:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return
