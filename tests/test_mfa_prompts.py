"""Where an MFA code is asked for, and how: the controlling terminal (echo off before the prompt,
nothing typed thrown away, malformed and rejected codes asked again, a signal or Ctrl-D ending
it cleanly), mfa_process (bounded, stopped with everything it started, never left holding
the helper), and a clear line when there is nowhere to ask. Dialogs are test_mfa_dialog.py."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.harness.checks import alive, failure_line
from tests.harness.setups import helper, identity_and_direct_run, start_with_mfa_script
from tests.harness.sts_emulator import digest
from tests.harness.terminal import Terminal
from tests.harness.world import ASSUMED, AWS, HELPER, MFA_CODE, MFA_SERIAL

ROOT = Path(__file__).resolve().parents[1]


def mfa_calls(sts):
    """STS calls that carried an MFA code (GetSessionToken, or AssumeRole itself)."""
    return [c for c in sts.calls if "TokenCode" in c.params]


def aws_on_terminal(world) -> Terminal:
    return Terminal([str(AWS), "sts", "get-caller-identity", "--profile", "prod-read-only"],
                    world.env)


TYPED_AT_ONCE_RUNS = 50


def prompt(world) -> Terminal:
    world.standard()
    terminal = Terminal([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                        world.env)
    terminal.expect(r"MFA code for .*: ")
    time.sleep(0.2)  # echo is off once the prompt shows; give tcsetattr its moment
    assert not termios.tcgetattr(terminal.master)[3] & termios.ECHO
    return terminal


def start_with_grandchild(world) -> tuple[subprocess.Popen, int, int]:
    """The helper with an mfa_process whose shell starts a grandchild and waits: (helper, the
    mfa_process's pid, the grandchild's pid), once both are running."""
    world.standard()
    pids = world.root / "pids"
    process = start_with_mfa_script(
        world, f"sleep 300 &\necho $$ $! > {pids}.tmp\nmv {pids}.tmp {pids}\nwait\n"
               f"echo {MFA_CODE}\n", pids)
    child, grandchild = (int(p) for p in pids.read_text().split())
    return process, child, grandchild


def wait_gone(*pids: int, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, [pid for pid in pids if alive(pid)]
        time.sleep(0.05)


def test_mfa_prompt_appears_on_the_terminal_and_the_typed_code_reaches_sts(world):
    world.standard()
    term = aws_on_terminal(world)
    term.expect(rf"MFA code for {re.escape(MFA_SERIAL)} \(profile prod-read-only\): ")
    code = world.code()
    term.type(code + "\n")
    result = term.finish()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED
    assert "MFA" not in result.stderr  # the prompt went to the terminal, not to the pipes
    assert code not in term.screen.decode()  # typed with echo off
    (call,) = mfa_calls(world.sts)
    assert call.params["TokenCode"] == digest(code)
    assert call.params["SerialNumber"] == MFA_SERIAL


def test_malformed_codes_are_rejected_before_sts_then_a_good_one_works(world):
    world.standard()
    term = aws_on_terminal(world)
    term.expect("MFA code for")
    term.type("12345\n")
    term.expect("That is not 6 digits. MFA code for")
    term.type("12a456\n")
    term.expect("That is not 6 digits. MFA code for")
    term.type(world.code() + "\n")
    result = term.finish()
    assert result.returncode == 0, result.stderr
    assert len(mfa_calls(world.sts)) == 1


def test_three_malformed_codes_fail_without_calling_sts(world):
    world.standard()
    term = aws_on_terminal(world)
    for _ in range(3):
        term.expect("MFA code for")
        term.type("nope\n")
    result = term.finish()
    assert result.returncode == 255
    assert "no valid MFA code for profile 'prod-read-only' after 3 tries" in result.stderr
    assert result.stdout == ""
    assert mfa_calls(world.sts) == []


def test_a_code_typed_the_instant_the_prompt_appears_is_read_and_never_shown(world):
    """A security key's OTP, a password manager's auto-type or a fast typist answers the moment
    the prompt's first byte is on the screen: echo must already be off then, and nothing typed
    may be thrown away (the prompt used to turn echo off after writing itself, with a flush)."""
    world.standard()
    # No cache: every run asks for a code, and AWS takes each code once: a device whose next
    # codes the test knows (a TOTP device would need 25 minutes for 50 codes).
    codes = random.sample(range(100001, 999999), TYPED_AT_ONCE_RUNS)
    codes = [str(code) for code in codes]
    world.sts.add_mfa_device(MFA_SERIAL, *codes)
    world.write_toml(world.toml.read_text() + 'cache = "none"\n')
    for run in range(TYPED_AT_ONCE_RUNS):
        term = Terminal([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                        world.env)
        try:
            term.expect(".", timeout=30)  # the first byte of the prompt, and not a moment later
            term.type(codes[run] + "\n")
            result = term.finish(timeout=30)
        finally:
            if term.proc.poll() is None:
                term.proc.kill()
        assert result.returncode == 0, (run, result.stderr, term.screen)
        assert json.loads(result.stdout)["AccessKeyId"], run
        assert codes[run].encode() not in term.screen, (run, term.screen)
        # The prompt is the first thing on the screen; from the second run on it says that the
        # code before was just used (AWS takes each once; the kernel keyring remembers it).
        assert term.screen.startswith(b"MFA code for " if run == 0 else
                                      b"The last code was just used: wait for the next one. "
                                      b"MFA code for "), (run, term.screen)
    assert len(mfa_calls(world.sts)) == TYPED_AT_ONCE_RUNS


def test_echo_is_off_before_the_prompt_is_written_and_the_restore_discards_nothing(tmp_path):
    """The order itself, seen by the real strace on a real terminal: a TCSETS* that clears ECHO
    before the prompt's write (getpass's order), and no flushing TCSETSF after it."""
    trace = tmp_path / "trace"
    code = ("import os; from xaccount_credproc.prompt.terminal import read_line; "
            "fd = os.open('/dev/tty', os.O_RDWR); "
            "print(read_line(open(fd, 'r+b', buffering=0), 'MFA code for x: ', 10))")
    term = Terminal(["strace", "-f", "-o", str(trace), "-e", "trace=ioctl,write",
                     sys.executable, "-c", code], {**os.environ, "PYTHONPATH": str(ROOT)})
    term.expect("MFA code for x: ")
    term.type(MFA_CODE + "\n")
    result = term.finish()
    assert result.returncode == 0 and result.stdout == MFA_CODE + "\n", result
    lines = trace.read_text().splitlines()
    prompt = next(i for i, line in enumerate(lines) if 'write(' in line and '"MFA code for x: "'
                  in line)

    def echo_off(line: str) -> bool:
        flags = re.search(r"c_lflag=([A-Z|]+)", line)
        return bool(flags) and "ECHO" not in flags.group(1).split("|")

    assert any("TCSETS" in line and echo_off(line) for line in lines[:prompt]), lines
    assert not any("TCSETSF" in line for line in lines[prompt:]), lines


def test_a_code_aws_rejects_is_asked_for_again(world):
    world.standard()
    term = aws_on_terminal(world)
    term.expect("MFA code for")
    term.type("654321\n")
    term.expect("AWS rejected that code. MFA code for")
    term.type(world.code() + "\n")
    result = term.finish()
    assert result.returncode == 0, result.stderr
    assert [c.status for c in mfa_calls(world.sts)] == [403, 200]
    assert [c.status for c in world.sts.calls_of("AssumeRole")] == [200]


def test_no_terminal_and_no_mfa_process_fails_at_once(world):
    world.standard()
    started = time.monotonic()
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
    assert time.monotonic() - started < 30
    assert result.returncode == 255
    stderr = failure_line(
        result, pattern=r"Error when retrieving credentials from custom-process: xaccount-credproc: "
                r"profile 'prod-read-only' needs an MFA code but there is no terminal to ask on "
                r"and no desktop session \(DISPLAY or WAYLAND_DISPLAY\); set mfa_process in the "
                r"config .*, run it from a desktop session with zenity or kdialog, or run "
                r"'xaccount-credproc credential-process --profile prod-read-only' once in a "
                r"terminal")
    assert stderr.count("xaccount-credproc:") == 1
    assert mfa_calls(world.sts) == []


@pytest.mark.parametrize(("command", "message"), [
    ("echo 12345", "did not print a 6-digit code"),
    ("false", "exited with status 1"),
    ("/nonexistent/otp-tool", "could not be started"),
])
def test_bad_mfa_process_is_a_clear_error(world, command, message):
    world.standard()
    world.write_toml(world.toml.read_text() + f'mfa_process = "{command}"\n')
    result = world.run("credential-process", "--profile", "prod-read-only")
    failure_line(result, pattern=rf"mfa_process for profile 'prod-read-only' {message}")
    assert mfa_calls(world.sts) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_at_the_prompt_leaves_echo_on_and_exits_conventionally(world, signum):
    terminal = prompt(world)
    terminal.proc.send_signal(signum)
    terminal.proc.wait(timeout=30)
    assert termios.tcgetattr(terminal.master)[3] & termios.ECHO  # echo is back on
    result = terminal.finish()
    assert result.returncode == 128 + signum
    assert result.stdout == ""
    assert result.stderr.strip() == (f"xaccount-credproc: MFA code entry interrupted by "
                                     f"{signal.Signals(signum).name}")
    assert world.sts.calls_of("AssumeRole") == []


def test_ctrl_d_at_the_prompt_gives_up_at_once(world):
    terminal = prompt(world)
    terminal.type("\x04")
    result = terminal.finish()
    assert result.returncode == 4
    assert "MFA code entry cancelled" in result.stderr
    assert terminal.screen.count(b"MFA code for") == 1  # not asked again
    assert world.sts.calls == []


def test_the_reentry_marker_does_not_reach_mfa_process(world):
    world.standard()
    dump = world.root / "mfa-env"
    script = world.root / "mfa.sh"
    script.write_text(f"#!/bin/sh\nenv > {dump}\nexec {world.mfa_process_command()}\n")
    script.chmod(0o700)
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", f'[defaults]\nmfa_process = "{script}"\n'))
    arn, _ = identity_and_direct_run(world)
    assert arn == ASSUMED
    assert dump.exists()
    assert "XACCOUNT_CREDPROC_ACTIVE" not in dump.read_text()


def test_a_helper_killed_with_sigkill_takes_mfa_process_and_its_grandchild_along(world):
    process, child, grandchild = start_with_grandchild(world)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    wait_gone(child, grandchild)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_helper_stopped_by_a_signal_kills_the_whole_group_and_says_so(world, signum):
    process, child, grandchild = start_with_grandchild(world)
    os.kill(process.pid, signum)
    stdout, stderr = process.communicate(timeout=30)
    wait_gone(child, grandchild)
    assert process.returncode == 128 + signum
    assert stdout == b""
    assert stderr.decode().strip() == (f"xaccount-credproc: MFA code entry interrupted by "
                                       f"{signal.Signals(signum).name}")


def test_a_grandchild_holding_the_output_does_not_keep_the_helper_waiting(world):
    """The code is printed and mfa_process exits, but what it started in the background still
    holds stdout: the helper takes the code within a moment and the holder is killed."""
    world.standard()
    pid_file = world.root / "holder"
    script = world.root / "otp-then-linger.sh"
    script.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > {pid_file}\n"
                      f"{world.mfa_process_command()}\n")
    script.chmod(0o700)
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", f'[defaults]\nmfa_process = "{script}"\n'))
    started = time.monotonic()
    result = helper(world)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10  # not the 30 s the holder would have taken
    wait_gone(int(pid_file.read_text()))


def test_an_mfa_process_that_prints_without_end_is_stopped_with_one_line(world):
    world.standard()
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", '[defaults]\nmfa_process = "yes 000000"\n'))
    started = time.monotonic()
    result = helper(world)
    assert time.monotonic() - started < 20
    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr.strip() == (
        "xaccount-credproc: mfa_process for profile 'prod-read-only' printed more than 16 KiB; "
        "it was stopped; it must print only the 6-digit code on stdout")
    left = subprocess.run(["pgrep", "-x", "yes"], capture_output=True, text=True, check=False)
    wait_gone(*(int(pid) for pid in left.stdout.split()))  # a zombie is gone: init reaps it
    assert world.sts.calls == []


def test_an_mfa_process_that_times_out_is_killed_with_everything_it_started(tmp_path):
    """run_bounded is what runs mfa_process (with 120 s; 1 s here): a shell whose background
    child holds the output pipe open must not keep the helper waiting, nor outlive it."""
    from xaccount_credproc.prompt.process import run_bounded

    pid_file = tmp_path / "grandchild"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        run_bounded(["sh", "-c", script], 1)
    assert time.monotonic() - started < 8
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(grandchild):
        assert time.monotonic() < deadline, "the background child outlived the timeout"
        time.sleep(0.05)


def test_an_mfa_process_that_finishes_keeps_what_it_started(tmp_path):
    """A program that starts a daemon (gpg-agent, a YubiKey helper) and prints the code keeps
    its daemon."""
    from xaccount_credproc.prompt.process import run_bounded

    pid_file = tmp_path / "daemon"
    # In the same process group (no setsid): a group kill on success would take it too.
    script = f"sleep 30 </dev/null >/dev/null 2>&1 & echo $! > {pid_file}; echo 845271"
    result = run_bounded(["sh", "-c", script], 10)
    assert result.returncode == 0 and result.stdout.strip() == b"845271"
    daemon = int(pid_file.read_text())
    try:
        assert alive(daemon)
    finally:
        os.kill(daemon, signal.SIGKILL)
