"""A dependency-free PNG chart for the Dagster UI: BTC close (line) over daily ETF net flows (bars),
with the regime's state as a coloured strip along the bottom.

Written with zlib alone (no plotting library in the pinned stack); embedded in the dashboard asset's
metadata as a markdown image (data URI), which the Dagster UI renders.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence

WHITE, GREY, ORANGE, GREEN, RED, BLUE = (255, 255, 255), (200, 200, 200), (247, 147, 26), (46, 160, 67), (207, 34, 46), (120, 120, 120)
STATE_COLOURS = {"bull_confirmation": GREEN, "bear_continuation": RED, "neutral": GREY}


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.px = bytearray(bytes(WHITE) * width * height)

    def set(self, x: int, y: int, rgb: tuple[int, int, int]) -> None:
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i : i + 3] = bytes(rgb)

    def vline(self, x: int, y0: int, y1: int, rgb) -> None:
        for y in range(min(y0, y1), max(y0, y1) + 1):
            self.set(x, y, rgb)

    def line(self, x0: int, y0: int, x1: int, y1: int, rgb) -> None:
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.set(x0, y0, rgb)
            self.set(x0, y0 + 1, rgb)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3 : (y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(tag: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def dashboard_chart(
    closes: Sequence[float | None], flows: Sequence[float | None], states: Sequence[str | None], width: int = 720, height: int = 240
) -> bytes:
    """One column per day: ETF net flow bars around a zero line, the BTC close as a line, regime strip."""
    n = len(closes)
    c = Canvas(width, height)
    if n < 2:
        return c.png()
    strip, top, bottom = 10, 8, height - 18
    xs = [int(i * (width - 1) / (n - 1)) for i in range(n)]
    mid = (top + bottom) // 2
    c.line(0, mid, width - 1, mid, GREY)
    peak = max((abs(f) for f in flows if f is not None), default=0.0) or 1.0
    for x, f in zip(xs, flows, strict=True):
        if f:
            c.vline(x, mid, mid - int(f / peak * (bottom - top) / 2), GREEN if f > 0 else RED)
    values = [v for v in closes if v is not None]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    prev = None
    for x, v in zip(xs, closes, strict=True):
        if v is None:
            prev = None
            continue
        y = bottom - int((v - lo) / span * (bottom - top))
        if prev is not None:
            c.line(prev[0], prev[1], x, y, ORANGE)
        prev = (x, y)
    for i, (x, s) in enumerate(zip(xs, states, strict=True)):
        x_next = xs[i + 1] if i + 1 < n else width
        for xx in range(x, max(x + 1, x_next)):
            for yy in range(height - strip, height):
                c.set(xx, yy, STATE_COLOURS.get(s or "", WHITE))
    return c.png()


def as_markdown(png: bytes, caption: str) -> str:
    return f"![{caption}](data:image/png;base64,{base64.b64encode(png).decode()})\n\n{caption}"
