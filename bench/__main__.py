"""`make bench`: runs every bench/bench_*.py on each of its backends and prints the tables.

    python -m bench [NAME ...] [--quick] [--backend spatialite|postgis]

Each (benchmark, backend) runs in a child process on a fresh database: a temporary SpatiaLite file,
or a fresh PostGIS database `gwanje_bench_<name>` on the server named by GWANJE_BENCH_POSTGIS_URL.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import format_table

HERE = Path(__file__).resolve().parent


def _names() -> list[str]:
    return sorted(
        m.name[len("bench_") :] for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_")
    )


def _child(name: str, backend: str, quick: bool) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    module = importlib.import_module(f"bench.bench_{name}")
    rows = module.run(backend, quick)
    print("BENCH-JSON " + json.dumps(rows, ensure_ascii=False))


def _postgis_url(base: str, name: str) -> str:
    """A fresh database per benchmark (gwanje_bench_<name>), so two benchmarks never share one."""
    import psycopg

    head, _, _db = base.rpartition("/")
    db = f"gwanje_bench_{name}"
    plain = base.replace("postgis://", "postgresql://", 1)
    with psycopg.connect(plain.rpartition("/")[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    return f"{head}/{db}"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(_names())})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for trying a benchmark out")
    parser.add_argument("--backend", choices=["spatialite", "postgis"], action="append")
    parser.add_argument("--child", nargs=2, metavar=("NAME", "BACKEND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.quick)
        return 0

    names = args.names or _names()
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        backends = [b for b in module.BACKENDS if not args.backend or b in args.backend]
        rows: list[dict] = []
        for backend in backends:
            with tempfile.TemporaryDirectory(prefix="gwanje-bench-") as tmp:
                env = {**os.environ, "GWANJE_DATA_DIR": tmp, "DJANGO_SETTINGS_MODULE": "gwanje.settings"}
                if backend == "postgis":
                    base = os.environ.get("GWANJE_BENCH_POSTGIS_URL")
                    if not base:
                        print(f"[{name}] postgis skipped: GWANJE_BENCH_POSTGIS_URL not set", file=sys.stderr)
                        continue
                    env["GWANJE_DATABASE_URL"] = _postgis_url(base, name)
                else:
                    env.pop("GWANJE_DATABASE_URL", None)
                cmd = [sys.executable, "-m", "bench", "--child", name, backend] + (
                    ["--quick"] if args.quick else []
                )
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                took = time.perf_counter() - t0
                out = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH-JSON ")]
                if proc.returncode != 0 or not out:
                    failed += 1
                    print(
                        f"[{name}/{backend}] FAILED (exit {proc.returncode})\n{proc.stderr[-3000:]}",
                        file=sys.stderr,
                    )
                    continue
                print(f"[{name}/{backend}] done in {took:.0f} s", file=sys.stderr)
                rows += json.loads(out[-1][len("BENCH-JSON ") :])
        title = (module.__doc__ or name).strip().splitlines()[0]
        print(format_table(title, rows), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
