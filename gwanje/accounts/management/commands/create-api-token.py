"""`gwanje create-api-token USERNAME [--rotate]`: print the user's API token (created when missing).

Integrations send it as `Authorization: Token <key>`; the token acts with the user's roles, so give
integrations an account of their own with only the roles they need. An account whose roles require
a second factor cannot use a token (the API refuses it, docs/authentication.md): the command still
prints it, with a warning.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gwanje.accounts import services
from gwanje.accounts.models import User
from gwanje.core.permissions import requires_mfa


class Command(BaseCommand):
    help = "Print the API token of USERNAME, creating it if missing (--rotate replaces it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--rotate", action="store_true", help="replace the existing token with a new one")

    def handle(self, *args, username: str, rotate: bool, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No account named %(username)s.") % {"username": username})
        try:
            key = services.issue_api_token(user, rotate=rotate)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(key)
        if requires_mfa(user):
            self.stderr.write(
                _(
                    "Warning: %(username)s has roles that require a second factor; the API refuses "
                    "tokens of such accounts. Use an integration account without those roles."
                )
                % {"username": username}
            )
