"""Create the administrator `admin` on first run, with a random password printed once."""

from django.core.management.base import BaseCommand

from gwanje.accounts import services
from gwanje.accounts.models import Organisation, User
from gwanje.accounts.roles import Role


class Command(BaseCommand):
    help = "Create the administrator account `admin` if it does not exist; print its password once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--organisation",
            default="seongdong-it",
            help="organisation code (default: the district's IT department)",
        )

    def handle(self, *args, username, organisation, **options):
        if User.objects.filter(username=username).exists():
            return
        org = Organisation.objects.filter(code=organisation).first()
        if org is None:
            org = services.upsert_organisation(code=organisation, name=organisation, kind="other")
        password = services.random_password()
        services.create_user(
            username=username,
            organisation=org,
            roles=[Role.SYSTEM_ADMIN],
            name="시스템 관리자",
            password=password,
            is_superuser=True,
        )
        bar = "=" * 64
        self.stdout.write(
            f"{bar}\n관리자 계정이 생성되었습니다 / administrator account created\n"
            f"  username: {username}\n  password: {password}\n"
            f"이 비밀번호는 다시 표시되지 않습니다 / shown only this once\n{bar}"
        )
