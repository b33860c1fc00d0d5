"""MFA where there is no terminal: the helper started as an IDE starts the AWS CLI (no controlling
terminal, stdin /dev/null, stdout and stderr pipes) asks in a real zenity dialog on a real X
server (Xvfb), which the test finds in the X window list and types into with xdotool. Slow
mfa_process runs announce themselves on a stand-in freedesktop Notifications service on a
private session bus. The kdialog, osascript and PowerShell drivers are run against stand-in
executables that record their command lines."""

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.harness.terminal import Terminal
from tests.harness.world import ASSUMED, AWS, HELPER, MFA_CODE, MFA_SERIAL, ROLE_ARN

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
TITLE = "MFA code for profile prod-read-only"


@pytest.fixture
def ide(world, desktop):
    """Alice's setup with no mfa_process: a person answers, in a dialog."""
    world.standard()
    world.env.update(desktop.env)
    return world


def start_aws(world, env=None) -> subprocess.Popen:
    """The AWS CLI as an IDE starts it: a new session (no controlling terminal), stdin
    /dev/null, stdout and stderr pipes."""
    return subprocess.Popen([str(AWS), "sts", "get-caller-identity", "--profile",
                             "prod-read-only"], env={**world.env, **(env or {})},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def start_helper(world, env=None) -> subprocess.Popen:
    return subprocess.Popen([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                            env={**world.env, **(env or {})}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def dialog_argv(desktop, window) -> list[str]:
    pid = desktop._xdotool("getwindowpid", window).stdout.strip()
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [w.decode() for w in f.read().split(b"\0") if w]


def zenity_processes(display: str) -> list[str]:
    """The dialogs still running on `display` (other workers' tests have dialogs of their own
    on displays of their own)."""
    result = subprocess.run(["pgrep", "-f", "zenity --entry"], capture_output=True, text=True,
                            check=False)
    found = []
    for pid in result.stdout.split():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if f"DISPLAY={display}".encode() in environ:
            found.append(pid)
    return found


def test_an_ide_gets_a_dialog_and_the_aws_cli_gets_the_role(ide, desktop):
    aws = start_aws(ide)
    window = desktop.wait_for_window(TITLE)
    title = desktop.title(window)
    assert "MFA" in title and "prod-read-only" in title
    argv = dialog_argv(desktop, window)
    assert "--hide-text" in argv  # what is typed is hidden
    text = next(a for a in argv if a.startswith("--text="))
    assert ROLE_ARN in text and MFA_SERIAL in text
    colours = desktop.screenshot(ARTIFACTS / "mfa-dialog.png")
    assert colours > 4, "the screenshot of the dialog is blank"
    code = ide.code()
    desktop.type_into(window, code)
    out, err = aws.communicate(timeout=60)
    assert aws.returncode == 0, err
    assert json.loads(out)["Arn"] == ASSUMED
    assert code not in " ".join(argv)
    assert len(ide.sts.calls_of("GetSessionToken")) == 1


def test_cancel_gives_exit_4_at_once(ide, desktop):
    helper = start_helper(ide)
    window = desktop.wait_for_window(TITLE)
    desktop.press(window, "Escape")
    out, err = helper.communicate(timeout=30)
    assert helper.returncode == 4 and out == ""
    assert err.strip() == ("xaccount-credproc: MFA code entry cancelled; run the command again "
                           "when your device is at hand")
    assert ide.sts.calls == []


@pytest.mark.parametrize("wrong", ["12345", "000000"])
def test_a_wrong_code_is_asked_again_then_the_right_one_works(ide, desktop, wrong):
    aws = start_aws(ide)
    first = desktop.wait_for_window(TITLE)
    desktop.type_into(first, wrong)
    desktop.wait_until_gone(first)
    try:
        second = desktop.wait_for_window(TITLE)
    except TimeoutError:  # say what the CLI and the helper made of it (seen once, cold CI)
        aws.kill()
        out, err = aws.communicate(timeout=30)
        raise AssertionError(f"no second dialog; aws exited {aws.returncode}: {err!r}") from None
    text = next(a for a in dialog_argv(desktop, second) if a.startswith("--text="))
    assert ("That is not 6 digits." if wrong == "12345" else "AWS rejected that code.") in text
    desktop.type_into(second, ide.code())
    out, err = aws.communicate(timeout=60)
    assert aws.returncode == 0, err
    assert json.loads(out)["Arn"] == ASSUMED


def test_an_unanswered_dialog_gives_up_and_leaves_nothing_behind(ide, desktop):
    started = time.monotonic()
    helper = start_helper(ide, {"XACCOUNT_CREDPROC_PROMPT_TIMEOUT": "5"})
    desktop.wait_for_window(TITLE)
    out, err = helper.communicate(timeout=60)
    assert time.monotonic() - started < 20
    assert helper.returncode == 4
    assert "no MFA code entered within 5s" in err
    time.sleep(0.5)
    assert desktop.windows(TITLE) == [] and zenity_processes(desktop.display) == []


def test_16_parallel_aws_commands_show_one_dialog_and_make_one_sts_call(ide, desktop):
    commands = [start_aws(ide) for _ in range(16)]
    seen: set[str] = set()
    most_at_once = 0
    deadline = time.monotonic() + 60
    while not seen and time.monotonic() < deadline:
        found = desktop.windows(TITLE)
        seen.update(found)
        time.sleep(0.1)
    assert seen, "no dialog appeared"
    for _ in range(20):  # two seconds of the X window list: still one dialog
        found = desktop.windows(TITLE)
        seen.update(found)
        most_at_once = max(most_at_once, len(found))
        time.sleep(0.1)
    desktop.type_into(sorted(seen)[0], ide.code())
    for command in commands:
        out, err = command.communicate(timeout=120)
        assert command.returncode == 0, err
        assert json.loads(out)["Arn"] == ASSUMED
    assert len(seen) == 1 and most_at_once == 1
    assert len(ide.sts.calls_of("GetSessionToken")) == 1
    assert len(ide.sts.calls_of("AssumeRole")) == 1


def test_mfa_prompt_terminal_never_opens_a_dialog(ide, desktop):
    ide.write_toml(ide.toml.read_text().replace("[defaults]\n",
                                                '[defaults]\nmfa_prompt = "terminal"\n'))
    result = ide.run("credential-process", "--profile", "prod-read-only")
    assert result.returncode == 4
    assert "no terminal to ask on (mfa_prompt = \"terminal\")" in result.stderr
    assert desktop.windows(TITLE) == []


def test_mfa_prompt_dialog_is_used_even_with_a_terminal(ide, desktop):
    ide.write_toml(ide.toml.read_text().replace("[defaults]\n",
                                                '[defaults]\nmfa_prompt = "dialog"\n'))
    terminal = Terminal([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                        ide.env)
    window = desktop.wait_for_window(TITLE)
    desktop.type_into(window, ide.code())
    result = terminal.finish()
    assert result.returncode == 0, result.stderr
    assert b"MFA code for" not in terminal.screen  # nothing asked on the terminal


# -- a dead display: never a Cancel -----------------------------------------------------------

DEAD_DISPLAY = ":87"  # no X server listens there (a stale SSH forward, a closed VNC session)


@pytest.fixture
def dead_display(world):
    """Alice's setup in an IDE whose DISPLAY names an X server that is gone."""
    assert not os.path.exists(f"/tmp/.X11-unix/X{DEAD_DISPLAY[1:]}")
    world.standard()
    world.env.update({"DISPLAY": DEAD_DISPLAY})
    world.env.pop("WAYLAND_DISPLAY", None)
    return world


def test_a_dialog_that_cannot_open_its_display_is_not_taken_for_cancel(dead_display):
    started = time.monotonic()
    result = dead_display.run("credential-process", "--profile", "prod-read-only")
    assert time.monotonic() - started < 30
    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr.strip() == (
        "xaccount-credproc: the zenity dialog for the MFA code could not be shown on display "
        f"'{DEAD_DISPLAY}' (cannot open the display); run it in a terminal with mfa_prompt = "
        '"terminal", unset DISPLAY / WAYLAND_DISPLAY if that display is gone (a stale SSH '
        "forward, a closed VNC session), or set mfa_process")
    assert "cancelled" not in result.stderr
    assert dead_display.sts.calls == []


def test_a_dead_display_falls_back_to_the_terminal(dead_display):
    """mfa_prompt = "dialog" skips the terminal; when the dialog cannot show, the terminal is
    the next way to ask."""
    dead_display.write_toml(dead_display.toml.read_text().replace(
        "[defaults]\n", '[defaults]\nmfa_prompt = "dialog"\n'))
    terminal = Terminal([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                        dead_display.env)
    terminal.expect("MFA code for")
    code = dead_display.code()
    terminal.type(code + "\n")
    result = terminal.finish()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"]
    assert code.encode() not in terminal.screen


def test_a_display_that_dies_while_the_dialog_is_open_is_not_taken_for_cancel(world):
    """zenity exits 1 with nothing on stderr when its X server dies under it, as for Cancel:
    the helper looks at the display before it believes a Cancel."""
    from tests.harness.desktop import Desktop

    private = Desktop().start()  # an X server of this test's own, killed while the dialog is up
    try:
        world.standard()
        world.env.update(private.env)
        helper = start_helper(world)
        private.wait_for_window(TITLE)
    finally:
        private.stop()
    out, err = helper.communicate(timeout=60)
    assert helper.returncode == 4 and out == ""
    assert err == (
        "xaccount-credproc: the zenity dialog for the MFA code could not be shown on display "
        f"'{private.display}' (the display went away while the dialog was open); run it in a "
        'terminal with mfa_prompt = "terminal", unset DISPLAY / WAYLAND_DISPLAY if that display '
        "is gone (a stale SSH forward, a closed VNC session), or set mfa_process\n")
    assert "cancelled" not in err
    assert world.sts.calls == []


def test_an_x_server_shutting_down_is_not_taken_for_a_live_display(world, tmp_path, desktop):
    """Between dropping its clients (zenity exits 1, as for Cancel) and closing its listening
    socket, a dying X server still takes connections into the socket's backlog without ever
    answering them (seen under load: a connect alone said the display was there, and the line
    said 'cancelled'). Only an answer to the X11 connection setup counts: a live Xvfb answers."""
    import socket

    from tests.harness.desktop import unused_displays
    from xaccount_credproc.prompt.dialog import display_reachable

    number = next(unused_displays(range(1000, 1100)))
    dying = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dying.bind(f"\0/tmp/.X11-unix/X{number}")
    dying.listen(8)  # never accepted, never answered
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "zenity").write_text("#!/bin/sh\nexit 1\n")  # what zenity does when X dies
    (fake / "zenity").chmod(0o755)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DISPLAY", f":{number}")
            env.delenv("WAYLAND_DISPLAY", raising=False)
            assert display_reachable() is False
            env.setenv("DISPLAY", desktop.display)
            assert display_reachable() is True
        world.standard()
        world.env.update({"DISPLAY": f":{number}", "PATH": f"{fake}:{world.env['PATH']}"})
        world.env.pop("WAYLAND_DISPLAY", None)
        out, err = start_helper(world).communicate(timeout=60)
    finally:
        dying.close()
    assert "(the display went away while the dialog was open)" in err, err
    assert "cancelled" not in err
    assert out == "" and world.sts.calls == []


def test_a_dialog_killed_by_a_signal_is_not_a_cancel():
    from xaccount_credproc.prompt import Cancelled, Unavailable, kdialog, zenity

    for driver in (zenity, kdialog):
        with pytest.raises(Unavailable):
            driver.answer(-9, "", "")
        with pytest.raises(Unavailable):
            driver.answer(1, "", "Gtk-WARNING **: cannot open display: :9")
        with pytest.raises(Cancelled):
            driver.answer(1, "", "")


# -- a slow mfa_process: a notification ---------------------------------------------------------


class Notifications:
    """A stand-in org.freedesktop.Notifications on a private session bus: records Notify."""

    def __init__(self, address: str):
        from jeepney import bus_messages
        from jeepney.io.blocking import open_dbus_connection

        self.calls: list[tuple] = []
        self.connection = open_dbus_connection(bus=address)
        reply = self.connection.send_and_get_reply(
            bus_messages.message_bus.RequestName("org.freedesktop.Notifications"))
        assert reply.body[0] == 1, reply.body  # primary owner
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        from jeepney import MessageType, new_method_return

        while self.running:
            try:
                message = self.connection.receive(timeout=0.2)
            except TimeoutError:
                continue
            except Exception:
                return
            header = message.header
            if (header.message_type == MessageType.method_call
                    and header.fields.get(3) == "Notify"):  # 3: MEMBER
                self.calls.append(message.body)
                self.connection.send(new_method_return(message, "u", (len(self.calls),)))

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.connection.close()


@pytest.fixture
def notifications(secret_service):
    service = Notifications(secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    yield service
    service.close()


def slow_otp(world, seconds: float) -> None:
    """An OTP tool that takes `seconds` (a security key waiting for a touch)."""
    script = world.root / "slow-otp"
    script.write_text(f"#!/bin/sh\nsleep {seconds}\nexec {world.mfa_process_command()}\n")
    script.chmod(0o755)
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", f'[defaults]\nmfa_process = "{script}"\n'))


def test_a_slow_mfa_process_sends_one_notification_without_secrets(world, notifications):
    world.standard()
    slow_otp(world, 2.5)
    result = world.run("credential-process", "--profile", "prod-read-only")
    assert result.returncode == 0, result.stderr
    (call,) = notifications.calls
    app, _, _, summary, body, *_ = call
    assert app == "xaccount-credproc" and summary == "Touch your security key"
    assert "touch your security key for profile prod-read-only" in body
    (code,) = world.sts.accepted_codes(MFA_SERIAL)
    assert code not in json.dumps(call, default=str)


def test_a_quick_mfa_process_sends_nothing(world, notifications):
    world.standard()
    slow_otp(world, 0)
    assert world.run("credential-process", "--profile", "prod-read-only").returncode == 0
    time.sleep(0.3)
    assert notifications.calls == []


def test_a_slow_mfa_process_says_so_on_the_terminal_too(world, notifications):
    world.standard()
    slow_otp(world, 2.5)
    terminal = Terminal([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                        world.env)
    terminal.expect("touch your security key for profile prod-read-only")
    assert terminal.finish().returncode == 0
    assert len(notifications.calls) == 1


# -- the other drivers, with stand-in executables ------------------------------------------------

STAND_IN = """\
#!{python}
import json, os, sys
with open(os.environ["STAND_IN_LOG"], "a") as f:
    f.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")
mode = os.environ.get("STAND_IN_MODE", "ok")
if mode == "ok":
    sys.stdout.write(os.environ["STAND_IN_ANSWER"])
    sys.exit(0)
if mode == "cancel":
    sys.stderr.write("execution error: User canceled. (-128)\\n")
    sys.exit(1)
sys.exit(int(mode))
"""


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("zenity", "kdialog", "osascript", "powershell.exe"):
        path = bindir / name
        path.write_text(STAND_IN.format(python=sys.executable))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "argv.log"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STAND_IN_LOG", str(log))
    monkeypatch.setenv("STAND_IN_ANSWER", MFA_CODE + "\n")
    return lambda: [json.loads(line) for line in log.read_text().splitlines()]


TEXT = f"Enter the 6-digit code.\n\nRole: {ROLE_ARN}\nMFA device: {MFA_SERIAL}"


@pytest.mark.parametrize(("driver_name", "expected"), [
    ("zenity", ["zenity", "--entry", "--hide-text", f"--title={TITLE}", f"--text={TEXT}",
                "--timeout=120", "--width=460"]),
    ("kdialog", ["kdialog", "--title", TITLE, "--password", TEXT]),
    ("osascript", ["osascript", "-e",
                   f'set r to display dialog "{TEXT}" default answer "" with hidden answer with '
                   f'title "{TITLE}" buttons {{"Cancel", "OK"}} default button "OK" cancel '
                   'button "Cancel" giving up after 120',
                   "-e", 'if gave up of r then return "xaccount-credproc:gave-up"',
                   "-e", "return text returned of r"]),
])
def test_driver_command_lines_and_answers(stand_ins, driver_name, expected):
    import importlib

    from xaccount_credproc.prompt import dialog as prompt

    driver = importlib.import_module(f"xaccount_credproc.prompt.{driver_name}")
    assert prompt.ask(driver, TITLE, TEXT, 120) == MFA_CODE
    (argv,) = stand_ins()
    assert argv == expected
    assert all(MFA_CODE not in word for word in argv)


def test_the_powershell_dialog_script(stand_ins):
    from xaccount_credproc.prompt import dialog as prompt
    from xaccount_credproc.prompt import powershell

    assert prompt.ask(powershell, "MFA code for profile o'brien", TEXT, 120) == MFA_CODE
    (argv,) = stand_ins()
    assert argv[:4] == ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command"]
    script = argv[4]
    assert "$form.Text = 'MFA code for profile o''brien'" in script  # quoted, not expanded
    assert "$box.UseSystemPasswordChar = $true" in script  # hidden input
    assert "$timer.Interval = 120000" in script and "exit 5" in script
    assert MFA_CODE not in script


@pytest.mark.parametrize(("driver_name", "mode", "message"), [
    ("zenity", "1", "MFA code entry cancelled"),
    ("zenity", "5", "no MFA code entered within 120s"),
    ("kdialog", "1", "MFA code entry cancelled"),
    ("osascript", "cancel", "MFA code entry cancelled"),
    ("powershell", "1", "MFA code entry cancelled"),
    ("powershell", "5", "no MFA code entered within 120s"),
])
def test_driver_cancel_and_give_up(stand_ins, monkeypatch, driver_name, mode, message):
    import importlib

    from xaccount_credproc.errors import MfaError
    from xaccount_credproc.prompt import dialog as prompt

    monkeypatch.setenv("STAND_IN_MODE", mode)
    driver = importlib.import_module(f"xaccount_credproc.prompt.{driver_name}")
    with pytest.raises(MfaError, match=message) as failure:
        prompt.ask(driver, TITLE, TEXT, 120)
    assert failure.value.exit_code == 4


def test_osascript_giving_up_is_a_timeout(stand_ins, monkeypatch):
    from xaccount_credproc.errors import MfaError
    from xaccount_credproc.prompt import dialog as prompt
    from xaccount_credproc.prompt import osascript

    monkeypatch.setenv("STAND_IN_ANSWER", osascript.GAVE_UP + "\n")
    with pytest.raises(MfaError, match="no MFA code entered within 120s"):
        prompt.ask(osascript, TITLE, TEXT, 120)


def test_a_bad_mfa_prompt_value_is_a_config_error(world):
    world.standard()
    world.write_toml(world.toml.read_text().replace("[defaults]\n",
                                                    '[defaults]\nmfa_prompt = "popup"\n'))
    result = world.run("credential-process", "--profile", "prod-read-only")
    assert result.returncode == 2
    assert "mfa_prompt 'popup' is not one of auto, terminal, dialog" in result.stderr


def test_doctor_says_which_prompt_each_mfa_profile_would_use(ide, desktop):
    ide.write_toml(ide.toml.read_text() + '\n[profiles.strict]\nrole_arn = "arn:aws:iam::'
                   '333333333333:role/Admin"\nmfa_prompt = "terminal"\n')
    result = ide.run("doctor")  # no controlling terminal, as an IDE would run it
    lines = result.stdout.splitlines()
    assert ("ok    MFA for 'prod-read-only': a zenity dialog now; a zenity dialog without a "
            "terminal") in lines, lines
    assert any(line.startswith("warn  MFA for 'strict': no prompt would work here "
                               "(mfa_prompt = \"terminal\", no terminal)") for line in lines), lines


def test_the_credential_server_asks_in_one_dialog_and_answers_mfa_required_meanwhile(ide,
                                                                                     desktop):
    """The server has no terminal: the code is asked in a dialog, once, however many requests
    come; each request meanwhile is answered 503 MfaRequired within 1.5 s."""
    from tests.harness.cred_server import CredServer, get

    server = CredServer(ide).start()
    try:
        env = server.client_env("prod-read-only")
        url = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        headers = {"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
        started = time.monotonic()
        status, body = get(url, headers)
        assert time.monotonic() - started < 1.5
        assert status == 503 and body["code"] == "MfaRequired", body
        assert "enter it in the dialog" in body["message"]
        window = desktop.wait_for_window(TITLE)
        for _ in range(3):  # SDK retries: answered at once, no second dialog
            started = time.monotonic()
            assert get(url, headers)[1]["code"] == "MfaRequired"
            assert time.monotonic() - started < 1.5
        assert len(desktop.windows(TITLE)) == 1  # one dialog, one prompt
        code = ide.code()
        desktop.type_into(window, code)
        deadline = time.monotonic() + 20
        while (answer := get(url, headers))[0] != 200:
            assert time.monotonic() < deadline, answer
            time.sleep(0.2)
        assert answer[1]["AccessKeyId"].startswith("ASIA")
        assert len(ide.sts.calls_of("GetSessionToken")) == 1
        assert code not in server.log()
    finally:
        server.stop()
