from django.core.management.base import BaseCommand, CommandError

from gwanje import deployments


class Command(BaseCommand):
    help = "Load a default deployment (organisations, map layers, camera inventory). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(deployments.DEPLOYMENTS), help="deployment name")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when the deployment is already loaded (used by `make run`)",
        )

    def handle(self, *args, name, if_missing, **options):
        if if_missing and deployments.is_loaded(name):
            self.stdout.write(f"{name}: already loaded")
            return
        try:
            deployments.load(name, log=self.stdout.write)
        except Exception as exc:  # a failed load is rolled back whole; say why
            raise CommandError(f"{name}: not loaded ({exc})") from exc
