"""Korean first: every user-facing string has a Korean translation."""

import subprocess
from pathlib import Path

from django.conf import settings


def test_korean_catalogues_are_complete():
    for po in sorted(Path(settings.BASE_DIR, "locale", "ko", "LC_MESSAGES").glob("*.po")):
        proc = subprocess.run(
            ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "untranslated" not in proc.stderr and "fuzzy" not in proc.stderr, f"{po.name}: {proc.stderr}"
