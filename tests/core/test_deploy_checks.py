import os
import subprocess
import sys


def _check(env_extra):
    # the browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never does
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GWANJE_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update({"GWANJE_DATA_DIR": os.environ.get("GWANJE_DATA_DIR", "/tmp"), **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "gwanje.cli", "check", "--deploy", "--fail-level", "ERROR"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_development_defaults_are_rejected():
    proc = _check({})
    assert proc.returncode != 0
    for code in ("gwanje.E001", "gwanje.E002", "gwanje.E004"):
        assert code in proc.stderr


def test_production_settings_pass():
    proc = _check(
        {
            "GWANJE_SECRET_KEY": "kq3v9-Zt7LmW2xR8pNc4Hs6Yd1Fb5Gj0Ua-Xe8Tr3Vw7Oi2Pl9Mn4Bq6Cy1Dz5Ek0",
            "GWANJE_FIELD_ENCRYPTION_KEYS": "ZmRlZmF1bHRrZXlmb3J0ZXN0c29ubHkxMjM0NTY3ODk=",
            "GWANJE_DATABASE_URL": "postgis://u:p@127.0.0.1:5432/gwanje",
            "GWANJE_HTTPS": "true",
            "GWANJE_ALLOWED_HOSTS": "cctv.example.go.kr",
        }
    )
    assert proc.returncode == 0, proc.stderr
    assert "gwanje.E0" not in proc.stderr
    assert "no issues" in proc.stdout + proc.stderr, proc.stdout + proc.stderr  # clean: not even warnings
