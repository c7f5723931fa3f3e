"""The simulator's control interface: a tiny HTTP server on 127.0.0.1 and its client.

    GET  /status               -> {"port": …, "count": …, "clock": …, "h265_cameras": […],
                                   "audio_only_cameras": […], "cameras": {"1": {"state": …}, …}}
    POST /cam/<id>/stop        the camera ends its sessions and refuses new ones (404)
    POST /cam/<id>/stall       sessions stay open but no more frames are sent
    POST /cam/<id>/resume      back to normal

<id> is 1 … N or "clock". Answers are JSON; unknown camera → 404, unknown action → 400.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACTIONS = ("stop", "stall", "resume")


class ControlError(RuntimeError):
    pass


class _Handler(BaseHTTPRequestHandler):
    server: ControlServer

    def log_message(self, format, *args):  # quiet: the simulator logs the actions itself
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") != "/status":
            return self._answer(404, {"error": "not found"})
        try:
            return self._answer(200, self.server.simulator.call(self.server.simulator.status))
        except Exception as exc:
            return self._answer(503, {"error": str(exc)})

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "cam":
            return self._answer(404, {"error": "not found; use POST /cam/<id>/<stop|stall|resume>"})
        _, camera_id, action = parts
        if action not in ACTIONS:
            return self._answer(400, {"error": f"unknown action {action!r}; use one of {', '.join(ACTIONS)}"})
        sim = self.server.simulator
        try:
            return self._answer(200, sim.call(sim.apply, action, camera_id))
        except KeyError:
            return self._answer(404, {"error": f"no camera {camera_id!r}"})
        except Exception as exc:
            return self._answer(503, {"error": str(exc)})


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, simulator, port: int, host: str = "127.0.0.1"):
        self.simulator = simulator
        super().__init__((host, port), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, name="simulator-control", daemon=True)

    def start(self) -> int:
        self.thread.start()
        return self.server_address[1]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def _request(method: str, port: int, path: str, host: str, timeout: float) -> dict:
    req = urllib.request.Request(
        f"http://{host}:{port}{path}", method=method, data=b"" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 (http://host:port)
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            detail = exc.reason
        raise ControlError(f"simulator control: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ControlError(f"simulator control at {host}:{port} unreachable: {reason}") from None


def control(port: int, action: str, n: int | str, *, host: str = "127.0.0.1", timeout: float = 10.0) -> dict:
    """Stop, stall or resume simulated camera `n` (1-based, or "clock") of the simulator whose
    control interface listens on `port`. Returns {"camera": id, "state": …}."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    return _request("POST", port, f"/cam/{n}/{action}", host, timeout)


def status(port: int, *, host: str = "127.0.0.1", timeout: float = 5.0) -> dict:
    """The simulator's state: port, count and each camera's state."""
    return _request("GET", port, "/status", host, timeout)
