"""The clock camera's machine-readable wall clock: layout, drawing (cairo) and decoding (numpy).

See the package docstring (`gwanje.video.simulator`) for the layout in words; the constants here
are the single source of truth (the browser latency benchmark copies them).
"""

from __future__ import annotations

import datetime as dt

WIDTH = 640  # clock camera frame size
HEIGHT = 360
BLOCK = 24  # side of one square block, pixels
COLUMNS = 25  # blocks per row
ROWS = 2  # rows of blocks: 2 x 25 = 50 blocks = 2 references + 48 bits
BITS = 48  # Unix time in milliseconds, least significant bit first
LEFT = (WIDTH - COLUMNS * BLOCK) // 2  # 20: x of the first block
TOP = 8  # y of the first row
BAND_HEIGHT = TOP + ROWS * BLOCK + 8  # 64: the black band holding the blocks


def block_origin(index: int) -> tuple[int, int]:
    """Top-left pixel of block `index` (0 = white reference, 1 = black reference, 2 + i = bit i)."""
    row, column = divmod(index, COLUMNS)
    return LEFT + column * BLOCK, TOP + row * BLOCK


def block_values(epoch_ms: int) -> list[bool]:
    """White (True) or black (False) for each of the 50 blocks."""
    return [True, False] + [bool((epoch_ms >> i) & 1) for i in range(BITS)]


def draw(ctx, epoch_ms: int) -> None:
    """Draw the band of blocks and the time as text on a cairo context of a WIDTH x HEIGHT frame."""
    ctx.set_source_rgb(0, 0, 0)
    ctx.rectangle(0, 0, WIDTH, BAND_HEIGHT)
    ctx.fill()
    ctx.set_source_rgb(1, 1, 1)
    for index, white in enumerate(block_values(epoch_ms)):
        if white:
            x, y = block_origin(index)
            ctx.rectangle(x, y, BLOCK, BLOCK)
    ctx.fill()
    lines = [f"{epoch_ms} ms"]
    if epoch_ms < 253_402_300_800_000:  # before year 10000
        stamp = dt.datetime.fromtimestamp(epoch_ms // 1000, dt.UTC)
        lines.append(stamp.strftime("%Y-%m-%d %H:%M:%S.") + f"{epoch_ms % 1000:03d} UTC")
    ctx.select_font_face("monospace")
    ctx.set_font_size(26)
    y = BAND_HEIGHT + 40
    for line in lines:
        ctx.set_source_rgb(0, 0, 0)
        ctx.rectangle(LEFT - 6, y - 28, WIDTH - 2 * LEFT + 12, 38)
        ctx.fill()
        ctx.set_source_rgb(1, 1, 1)
        ctx.move_to(LEFT, y)
        ctx.show_text(line)
        y += 44


class BarcodeError(ValueError):
    """The frame does not carry a readable clock band."""


def decode(frame) -> int:
    """The Unix time in milliseconds from a frame: an array of HEIGHT x WIDTH (gray) or
    HEIGHT x WIDTH x 3/4 (RGB/RGBA) pixel values. Raises BarcodeError when unreadable."""
    import numpy as np

    pixels = np.asarray(frame, dtype=np.float32)
    if pixels.ndim == 3:
        pixels = pixels[..., :3].mean(axis=2)
    if pixels.shape[0] < TOP + ROWS * BLOCK or pixels.shape[1] < LEFT + COLUMNS * BLOCK:
        raise BarcodeError(f"frame {pixels.shape[1]}x{pixels.shape[0]} is smaller than {WIDTH}x{HEIGHT}")
    margin = BLOCK // 4

    def level(index: int) -> float:
        x, y = block_origin(index)
        return float(pixels[y + margin : y + BLOCK - margin, x + margin : x + BLOCK - margin].mean())

    white, black = level(0), level(1)
    if white - black < 64:
        raise BarcodeError(f"no clock band (white reference {white:.0f}, black reference {black:.0f})")
    threshold = (white + black) / 2
    value = 0
    for i in range(BITS):
        if level(2 + i) > threshold:
            value |= 1 << i
    return value
