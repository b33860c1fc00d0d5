"""A real pseudo-terminal, made the controlling terminal of a child: a person typing at a prompt.

The child's stdin is the terminal while stdout and stderr stay pipes, as under botocore, so a test
sees separately what went to the screen and what went to the pipes.
"""

import fcntl
import os
import re
import select
import subprocess
import termios
import time

from tests.harness.world import CAPTURED_STDERR


class Terminal:
    def __init__(self, argv: list[str], env: dict):
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            argv, env=env, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.screen = b""  # everything the terminal showed
        self.consumed = 0  # how much of it earlier expect() calls matched

    def expect(self, pattern: str, timeout: float = 30) -> str:
        """Wait until what the terminal showed since the last match matches `pattern`."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern.encode())
        while not (match := regex.search(self.screen, self.consumed)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{pattern!r} never appeared; screen: {self.screen!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the other side closed
                    chunk = b""
                if not chunk:
                    raise TimeoutError(f"terminal closed; screen: {self.screen!r}")
                self.screen += chunk
        self.consumed = match.end()
        return self.screen.decode(errors="replace")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 60) -> subprocess.CompletedProcess:
        stdout, stderr = self.proc.communicate(timeout=timeout)
        # Drain what is left on the screen.
        while select.select([self.master], [], [], 0.1)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.screen += chunk
        os.close(self.master)
        CAPTURED_STDERR.append(stderr.decode(errors="replace"))
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode,
                                           stdout.decode(), stderr.decode())
