"""A real X desktop for dialog tests: Xvfb on a free display, windows found and typed into with
xdotool (the code goes to xdotool on stdin, never on a command line), and screenshots taken with
xwd and written as PNG."""

import os
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path


def unused_displays(numbers):
    """The display numbers among `numbers` that no X server holds and that this run has not
    handed out before (each once per run: a test that kills its X server and then looks at the
    display must find nothing there, not another worker's new Xvfb), claiming each it yields."""
    from tests.harness.ports import claimed_once

    for number in numbers:
        if os.path.exists(f"/tmp/.X11-unix/X{number}") or os.path.exists(f"/tmp/.X{number}-lock"):
            continue
        if claimed_once(f"display-{number}"):
            yield number


class Desktop:
    def __init__(self):
        self.process = None
        self.display = None

    def start(self) -> "Desktop":
        for tool in ("Xvfb", "zenity", "xdotool", "xwd"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} is not installed: run scripts/bootstrap.sh")
        for number in unused_displays(range(90, 1000)):
            self.process = subprocess.Popen(
                ["Xvfb", f":{number}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.process.poll() is None:
                if os.path.exists(f"/tmp/.X11-unix/X{number}"):
                    self.display = f":{number}"
                    return self
                time.sleep(0.05)
            self.stop()
        raise RuntimeError("Xvfb did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @property
    def env(self) -> dict[str, str]:
        # No accessibility bus: GTK would otherwise look for one on a session bus.
        return {"DISPLAY": self.display, "NO_AT_BRIDGE": "1"}

    def _xdotool(self, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["xdotool", *args], input=stdin, capture_output=True, text=True,
                              env={**os.environ, **self.env}, timeout=30, check=False)

    def windows(self, title_pattern: str) -> list[str]:
        """Ids of the mapped windows whose title matches (the X server's window list)."""
        result = self._xdotool("search", "--onlyvisible", "--name", title_pattern)
        return result.stdout.split()

    def wait_for_window(self, title_pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.windows(title_pattern)
            if found:
                time.sleep(0.3)  # let it finish drawing and take input
                return found[0]
            time.sleep(0.1)
        raise TimeoutError(f"no window titled {title_pattern!r} appeared")

    def wait_until_gone(self, window: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self._xdotool("getwindowname", window).returncode == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"window {window} is still there")
            time.sleep(0.1)

    def title(self, window: str) -> str:
        return self._xdotool("getwindowname", window).stdout.strip()

    def type_into(self, window: str, text: str) -> None:
        """Focus `window`, type `text` (read by xdotool from stdin) and press Return."""
        assert self._xdotool("windowfocus", "--sync", window).returncode == 0
        self._xdotool("type", "--delay", "20", "--file", "-", stdin=text)
        self._xdotool("key", "Return")

    def press(self, window: str, key: str) -> None:
        self._xdotool("windowfocus", "--sync", window)
        self._xdotool("key", key)

    def screenshot(self, path: Path) -> int:
        """Write the screen as a PNG; the number of distinct colours in it."""
        raw = subprocess.run(["xwd", "-root", "-silent", "-display", self.display],
                             capture_output=True, check=True, timeout=30).stdout
        width, height, pixels = _xwd_pixels(raw)
        rows = b"".join(b"\0" + pixels[y * width * 3:(y + 1) * width * 3] for y in range(height))
        chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data  # noqa: E731
                                    + struct.pack(">I", zlib.crc32(kind + data)))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG\r\n\x1a\n"
                         + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                         + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
        return len({pixels[i:i + 3] for i in range(0, len(pixels), 3 * 7)})


def _xwd_pixels(raw: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes) of a 24- or 32-bits-per-pixel ZPixmap XWD dump."""
    fields = struct.unpack(">25I", raw[:100])
    header_size, width, height, byte_order = fields[0], fields[4], fields[5], fields[7]
    bits_per_pixel, bytes_per_line, ncolors = fields[11], fields[12], fields[19]
    assert bits_per_pixel in (24, 32), bits_per_pixel
    size = bits_per_pixel // 8
    start = header_size + ncolors * 12
    out = bytearray()
    for y in range(height):
        line = raw[start + y * bytes_per_line:start + y * bytes_per_line + width * size]
        for x in range(0, len(line) - size + 1, size):
            pixel = line[x:x + size] if byte_order == 0 else line[x:x + size][::-1]
            out += bytes((pixel[2], pixel[1], pixel[0]))  # stored B, G, R(, pad) in LSB order
    return width, height, bytes(out)
