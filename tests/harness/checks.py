"""What every test expects of a command that refuses: a non-zero exit, nothing on stdout, one
line on stderr naming what is wrong and how to fix it, no traceback, no secret."""

import re

# What no message may ever show: the IAM user's secret key, the fixed MFA code.
from .world import ALICE_SECRET, MFA_CODE


def failure_line(result, *words: str, code: int | None = None, pattern: str | None = None,
                 secrets: tuple[str, ...] = ()) -> str:
    """The one line a failed command printed on stderr. `code`: the exit status it must have
    (else any but 0); `words`: what the line must contain; `pattern`: a regular expression it
    must match; `secrets`: more strings it must not contain."""
    stderr = result.stderr
    assert result.returncode != 0 if code is None else result.returncode == code, \
        (result.returncode, stderr)
    assert result.stdout == "", result.stdout
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    line = lines[0]
    for word in words:
        assert word in line, line
    if pattern is not None:
        assert re.search(pattern, line), line
    for secret in (ALICE_SECRET, MFA_CODE, *secrets):
        assert secret not in stderr
    return line


def nonblank_lines(text: str) -> list[str]:
    """The lines of `text` that say something (a warning, an error)."""
    return [line for line in text.splitlines() if line.strip()]


def alive(pid: int) -> bool:
    """Whether process `pid` is running (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
