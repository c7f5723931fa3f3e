"""`gwanje run`: the embedded default — the ASGI web server (later also supervises the workers)."""

import uvicorn
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Gwanje (ASGI, uvicorn)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args, host, port, workers, **options):
        self.stdout.write(f"Gwanje: http://{host}:{port}/  (Ctrl-C to stop)")
        uvicorn.run(
            "gwanje.asgi:application",
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            proxy_headers=True,
            lifespan="off",
        )
