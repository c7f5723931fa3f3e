from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new key for GWANJE_FIELD_ENCRYPTION_KEYS (prepend it to rotate; keep old keys after it)."
    requires_system_checks = []

    def handle(self, *args, **options):
        self.stdout.write(Fernet.generate_key().decode())
