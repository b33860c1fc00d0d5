"""A console sign-in in a browser: one browser identity per profile, and the login URL (a
credential for 15 minutes) never on a command line, where every local user can read it in
/proc/PID/cmdline for as long as the browser runs.

- The Chromium family (chromium, chrome, brave, edge): each AWS profile gets its own persistent
  browser profile, `--user-data-dir=<data dir>/xaccount-credproc/browsers/<profile>` (0700,
  created once), in a new window: dev and prod stay signed in side by side.
- Firefox: the `ext+container:` link of the "Open external links in a container" extension, one
  container per profile, coloured with the profile's `color`.
- `default`: the system's browser (web.opener), as before: one sign-in at a time.

Every one of them is given only a one-shot local hop, `http://127.0.0.1:PORT/<256-bit path>`
(the one loopback listener, web.loopback), which answers one redirect to the login URL
(no-store, no referrer) and then only 404: the Firefox link carries that hop, not the login
URL. The hop's URL is on the browser's command line, which every local user can read, so the
hop answers only the user's own processes (web.loopback looks each connection's owner up in
the kernel's socket tables): another uid's request is refused and counted, never served, and
the command says so. Where the platform cannot tell who connects, the browser is handed a
private file instead (`_through_a_private_page`). The command waits for the user's browser to
take the hand-off, at most HOP_WAIT seconds.
"""

import json
import os
import secrets
import shutil
import sys

from .. import debug
from ..errors import ConfigError, UserError

NAMES = {"chromium": ("chromium", "chromium-browser"),
         "chrome": ("google-chrome", "google-chrome-stable"),
         "brave": ("brave-browser", "brave"),
         "edge": ("microsoft-edge", "microsoft-edge-stable"),
         "firefox": ("firefox",)}
FAMILIES = ("chromium", "firefox")
HOP_WAIT = 60
# Firefox containers know these colours; the profile's switch-role colours map onto them.
CONTAINER_COLORS = {"red": "red", "orange": "orange", "yellow": "yellow", "green": "green",
                    "blue": "blue"}


class Browser:
    """What opens a profile's console: a family ("chromium", "firefox", "default") and, but for
    "default", the executable."""

    def __init__(self, family: str, executable: str | None, name: str):
        self.family, self.executable, self.name = family, executable, name


def family_of(name: str) -> str:
    return "firefox" if name == "firefox" else "chromium"


def choose(name: str | None, family: str | None) -> Browser:
    """The browser `name` (a known name, "default" or a path; None: "default") names."""
    if not name or name == "default":
        return Browser("default", None, "default")
    if name in NAMES:
        for candidate in NAMES[name]:
            found = shutil.which(candidate)
            if found:
                return Browser(family_of(name), found, name)
        raise ConfigError(f"browser '{name}' is not installed (none of "
                          f"{', '.join(NAMES[name])} is on PATH)",
                          "install it, or set browser to its path (with browser_family), or "
                          'use browser = "default"')
    if os.path.isabs(os.path.expanduser(name)):
        path = os.path.expanduser(name)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise ConfigError(f"browser {path} is not an executable file",
                              "set browser to the browser's program, or to one of "
                              f"{', '.join(NAMES)} or default")
        if family not in FAMILIES:
            raise ConfigError(f"browser {path} is a path, so its family must be given",
                              'set browser_family = "chromium" or "firefox" (or --browser '
                              "chromium, chrome, brave, edge or firefox)")
        return Browser(family, path, path)
    raise ConfigError(f"browser {name[:40]!r} is not one xaccount-credproc knows",
                      f"use one of {', '.join(NAMES)} or default, or a browser's absolute path "
                      "with browser_family")


def data_dir(profile: str) -> str:
    """This profile's own browser profile (Chromium family): created once, 0700, the same each
    time."""
    from ..files import home

    if "/" in profile or "\\" in profile or profile.startswith(".") or not profile:
        raise ConfigError(f"profile name {profile[:40]!r} cannot name a browser profile "
                          "directory", "use a profile name of letters, digits and _.@+-")
    if sys.platform == "darwin":
        base = os.path.join(home(), "Library", "Application Support")
    elif sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(home(), "AppData", "Local")
    else:
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(home(), ".local", "share")
    path = os.path.join(base, "xaccount-credproc", "browsers", profile)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            st = os.lstat(path)
            import stat

            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                raise ConfigError(f"{path} is not a directory of yours",
                                  "remove it; it is made again") from None
            if st.st_mode & 0o077:
                os.chmod(path, 0o700)
    except OSError as e:
        raise UserError(f"cannot create the browser profile directory {path} ({e.strerror})",
                        f"check the permissions of {os.path.dirname(path)} (or set "
                        "XDG_DATA_HOME)") from None
    return path


def container_link(profile: str, url: str, color: str | None) -> str:
    from urllib.parse import quote, urlencode

    query = {"name": profile, "url": url,
             "color": CONTAINER_COLORS.get((color or "").lower(), "blue"), "icon": "fingerprint"}
    return "ext+container:" + urlencode(query, quote_via=quote)


def open_console(profile: str, login_url: str, browser: Browser, color: str | None,
                 wait: float = HOP_WAIT, owner_check: bool | None = None) -> str:
    """Open `login_url` for `profile` in `browser`; returns once the user's own browser has
    taken the hand-off, with "" or the refused attempts of other local users in words.
    `owner_check`: whether the loopback hop can tell who connects (None: as the platform says,
    `loopback.owner_check_available`); without it the browser is handed a private file instead,
    and Firefox's container link (which takes only a URL) is refused. Raises UserError when no
    browser could be started, or the user's own browser did not take the hand-off in time."""
    from ..web import loopback

    if owner_check is None:
        owner_check = loopback.owner_check_available()
    if not owner_check and browser.family == "firefox":
        raise UserError("the Firefox container link takes only a URL, and on this platform "
                        "xaccount-credproc cannot tell whose process opens a local one",
                        f"use a Chromium-family browser or default, or 'xaccount-credproc "
                        f"console --profile {profile} --print'")
    if owner_check:
        def handle(query: dict[str, str]) -> tuple[loopback.Reply, bool]:
            return loopback.redirect(login_url), True  # once: then the listener answers 404

        with loopback.Listener("/" + secrets.token_urlsafe(32), handle, "console hop") as hop:
            _start(browser, profile, hop.url, color)
            return _outcome(hop, wait)
    return _through_a_private_page(profile, login_url, browser, color, wait)


def _start(browser: Browser, profile: str, url: str, color: str | None) -> None:
    """Start `browser` on `url` (never the sign-in URL itself) without waiting for it."""
    import subprocess

    if browser.family == "default":
        from ..web.opener import open_url

        if not open_url(url):
            raise UserError("no web browser could be opened", "use 'xaccount-credproc "
                            f"console --profile {profile} --print' and open the URL "
                            "yourself (it signs you in: keep it private)")
        return
    assert browser.executable is not None
    if browser.family == "chromium":
        argv = [browser.executable, f"--user-data-dir={data_dir(profile)}", "--new-window", url]
    else:
        argv = [browser.executable, container_link(profile, url, color)]
        debug.log("Firefox container link: it carries only the one-shot local address, "
                  "not the sign-in URL")
    try:
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as e:
        raise UserError(f"cannot start {browser.executable} ({e.strerror})",
                        "check the browser setting") from None


def _outcome(hop, wait: float) -> str:
    """"" or the refused attempts, once the hand-off is done; UserError when it is not."""
    done = hop.wait(wait)
    refused = hop.refusals()
    if not done:
        tried = (f"; meanwhile local {refused} asked for it and was refused (only your own "
                 "browser is answered)" if refused else "")
        raise UserError(f"your browser did not take the sign-in within {wait:g}s{tried}",
                        "check that it started; or use 'console --print' and open the URL "
                        "yourself")
    return refused


PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer"><title>xaccount-credproc</title>
<script>fetch({ack}, {{mode: "no-cors", cache: "no-store"}}).finally(function () {{
location.replace({url}); }});</script></head>
<body><p>Signing in to the AWS console&hellip;</p></body></html>
"""


def _through_a_private_page(profile: str, login_url: str, browser: Browser,
                            color: str | None, wait: float) -> str:
    """Where the platform cannot tell who connects: the browser is given a page in a file
    only this user can read (0600 in a 0700 directory), which tells the loopback listener it
    was read (a path written only in the page) and goes on to the sign-in URL; the file is
    removed once it was read, or when the wait ends."""
    from .. import files
    from ..web import loopback

    def handle(query: dict[str, str]) -> tuple[loopback.Reply, bool]:
        return loopback.Reply(204), True

    directory = files.private_runtime_dir("console")
    with loopback.Listener("/" + secrets.token_urlsafe(32), handle, "console page") as ack:
        path = os.path.join(directory, secrets.token_urlsafe(16) + ".html")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with open(fd, "w", encoding="utf-8") as f:
                f.write(PAGE.format(ack=json.dumps(ack.url), url=json.dumps(login_url)))
            from pathlib import Path

            _start(browser, profile, Path(path).as_uri(), color)
            return _outcome(ack, wait)
        finally:
            try:  # noqa: SIM105 - the page may be gone already
                os.unlink(path)
            except OSError:
                pass
