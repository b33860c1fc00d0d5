"""The profile picker of `xcp use`: drawn on the terminal itself (stdout is the shell's `$(...)`,
which receives only the chosen name), type to filter by profile name, account id or role
(every word must match, case ignored), arrows (or Ctrl-P/Ctrl-N) to move, Enter to choose, Esc
(or Ctrl-C, Ctrl-D) to leave without a choice. The terminal's modes are restored whatever ends
it, and a person who walks away is given up on after the prompt timeout."""

import os
import select

from ..errors import UserError

ESC, ENTER, BACKSPACE = b"\x1b", (b"\r", b"\n"), (b"\x7f", b"\x08")
UP, DOWN = (b"\x1b[A", b"\x1bOA", b"\x10"), (b"\x1b[B", b"\x1bOB", b"\x0e")
LEAVE = (b"\x03", b"\x04")
MAX_ROWS = 15


class Left(UserError):
    """The person left the picker (Esc): nothing chosen, nothing changed."""

    exit_code = 1


def matching(rows: list[tuple[str, str, str]], text: str) -> list[tuple[str, str, str]]:
    words = text.lower().split()
    return [row for row in rows if all(any(w in field.lower() for field in row) for w in words)]


def pick(rows: list[tuple[str, str, str]], tty_path: str = "/dev/tty") -> str:
    """The name chosen among `rows` (profile, account, role)."""
    import termios

    from ..prompt.terminal import prompt_timeout

    if not rows:
        raise UserError("there is no profile to pick", "add one ('xaccount-credproc add') and "
                        "run 'xaccount-credproc init'")
    try:
        fd = os.open(tty_path, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise UserError("'xcp use' needs a terminal to pick a profile on",
                        "name the profile: xcp use NAME") from None
    old = None
    drawn = 0
    try:
        try:
            old = termios.tcgetattr(fd)
        except termios.error:
            raise UserError("'xcp use' needs a terminal to pick a profile on",
                            "name the profile: xcp use NAME") from None
        new = list(old)
        new[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG)
        new[6] = list(new[6])
        new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSAFLUSH, new)
        text, index = "", 0
        width = [max(len(row[i]) for row in rows) for i in range(3)]
        timeout = prompt_timeout()
        while True:
            shown = matching(rows, text)
            index = max(0, min(index, min(len(shown), MAX_ROWS) - 1))
            drawn = _draw(fd, drawn, text, shown, index, width)
            key = _key(fd, timeout)
            if key is None:
                raise UserError(f"no profile chosen within {timeout}s", "run 'xcp use' again")
            if key == ESC or key in LEAVE:
                raise Left("left the picker: nothing changed")
            if key in ENTER:
                if shown:
                    return shown[index][0]
            elif key in UP:
                index -= 1
            elif key in DOWN:
                index += 1
            elif key in BACKSPACE:
                text = text[:-1]
            elif key == b"\x15":  # Ctrl-U
                text = ""
            elif len(key) == 1 and 0x20 <= key[0] < 0x7f:
                text, index = text + key.decode(), 0
    finally:
        try:
            _clear(fd, drawn)
            if old is not None:
                termios.tcsetattr(fd, termios.TCSADRAIN, old)
        except (OSError, termios.error):
            pass
        os.close(fd)


def _key(fd: int, timeout: float) -> bytes | None:
    """One key: a byte, or an escape sequence read whole (an Esc alone is followed by nothing
    within 50 ms)."""
    if not select.select([fd], [], [], timeout)[0]:
        return None
    first = os.read(fd, 1)
    if not first:
        return b"\x04"
    if first != ESC:
        return first
    sequence = first
    while len(sequence) < 8 and select.select([fd], [], [], 0.05)[0]:
        sequence += os.read(fd, 1)
        if len(sequence) >= 3 and 0x40 <= sequence[-1] <= 0x7e:
            break
    return sequence


def _draw(fd: int, drawn: int, text: str, shown, index: int, width: list[int]) -> int:
    """Redraw the picker in place; how many lines it takes now."""
    lines = ["xcp use: type to filter, arrows to choose, Enter to switch, Esc to leave",
             f"> {text}"]
    for position, (name, account, role) in enumerate(shown[:MAX_ROWS]):
        line = f"  {name.ljust(width[0])}  {account.ljust(width[1])}  {role}"
        lines.append(f"\x1b[7m{line}\x1b[0m" if position == index else line)
    if len(shown) > MAX_ROWS:
        lines.append(f"  … {len(shown) - MAX_ROWS} more: type to narrow")
    if not shown:
        lines.append("  (no profile matches)")
    out = _up(drawn) + "\x1b[J" + "\r\n".join(lines) + "\r"
    os.write(fd, out.encode("utf-8", "replace"))
    return len(lines)


def _up(drawn: int) -> str:
    return "\r" + (f"\x1b[{drawn - 1}A" if drawn > 1 else "")


def _clear(fd: int, drawn: int) -> None:
    if drawn:
        os.write(fd, (_up(drawn) + "\x1b[J").encode())
