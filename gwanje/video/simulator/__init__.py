"""Camera simulator: N RTSP cameras on 127.0.0.1 for the recorder, the live view and the tests.

`gwanje simulate-cameras --count N [--port 8554] [--source pattern|FILE] [--clock]
[--user U --password P] [--control-port P]` serves, for n = 1 … N:

    rtsp://127.0.0.1:8554/cam/<n>/main   H.264 1920x1080, ~4 Mbit/s, 25 fps, key frame every 1 s
    rtsp://127.0.0.1:8554/cam/<n>/sub    H.264 640x360, ~512 kbit/s, 25 fps, key frame every 1 s

Both are encoded once with ffmpeg (from a test pattern or FILE) into a cache
(settings.VIDEO_DIR/"simulator", keyed by every parameter) and served looping without re-encoding;
all clients of one stream share one pipeline, and time stamps keep increasing across loops.

`--h265-camera N` (repeatable) makes camera N send H.265 on both streams (same sizes and timing,
encoded once with libx265); `--audio-only-camera N` makes it send only audio (G.711 A-law, 8 kHz):
what the recorder must refuse (unsupported codec, no video) without crashing.

With `--clock`, one extra live-encoded camera `rtsp://…/clock` (640x360, 25 fps, x264
zerolatency, key frame every 1 s) shows the wall clock at the moment each frame is drawn.

Clock bar code (constants in `barcode.py`; `barcode.decode(frame)` reads it back):

* the top band of the frame, y 0 … 63, is black;
* in it, 50 square blocks of 24x24 px in 2 rows of 25, the first row at y = 8, the second at
  y = 32, columns starting at x = 20 (block k: x = 20 + 24·(k mod 25), y = 8 + 24·(k div 25));
* block 0 is always white, block 1 always black (references: threshold = their mean luma);
* block 2 + i is white when bit i of the Unix time in milliseconds is 1
  (bit i = (epoch_ms >> i) & 1, i = 0 … 47, least significant bit first);
* to read: sample the middle 12x12 px of each block (skip 6 px at each side), compare with the
  threshold. The same time is written below the band as text ("<epoch_ms> ms" and UTC).

Fault injection: `control(port, action, n)` (HTTP `POST /cam/<n>/<stop|stall|resume>` on
127.0.0.1:<control-port>, see control.py) or `gwanje simulate-cameras --control-port P --send stop 3`:

* stop — the camera ends its sessions (connections closed) and new clients get 404 Not Found;
* stall — sessions stay open, no more frames are sent (new clients hang before the first frame);
* resume — back to normal (after a stall, video continues at the next key frame).

`--user/--password` requires RTSP basic authentication (wrong or missing credentials: 401).
"""

from gwanje.video.simulator.control import ControlError, control, status

__all__ = ["ControlError", "control", "status"]
