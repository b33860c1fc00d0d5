"""Another local user who reads every command line on the machine (as anyone may, in
/proc/PID/cmdline) and takes whatever it names first: every loopback URL fetched at once
(without following a redirect), every file read. Run as a throwaway uid while a test opens the
console or signs in; what it got is one JSON line per attempt in its record.

Debian and Ubuntu mount /proc open to every user, and that is the machine this attacker
stands for. Where /proc hides other users' processes (`hidepid`, or a sandbox such as a CI
runner's), the watcher would see nothing and every refusal would pass unexercised; there a
root-side mirror copies every command line into a file the watcher reads instead: the same
view an open /proc gives, so the tests show the same thing on either machine. `route` says
which view the watcher had; XCP_TEST_WATCHER_ROUTE=mirror forces the mirror, to try that
route on an open machine.

The suite runs tests side by side, and each test's machine is its own: a watcher reads every
command line but goes after only those that name its test's own directory (`scope`: the
browser it races runs from there), never another test's sign-in, which it would otherwise
take as well and make that test's console report a refusal its own watcher never caused."""

import json
import os
import subprocess
import time
from pathlib import Path

SCRIPT = r'''
import http.client, json, os, re, sys, time, urllib.parse
record, seconds, forced, scope = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
deadline, me, seen = time.monotonic() + seconds, str(os.getpid()), set()
URL = re.compile(r"http://127\.0\.0\.1:(\d+)(/[A-Za-z0-9_\-./?=&%]*)")
FILE = re.compile(r"file://(/[^\s\"'&]+)")

def write(entry):
    with open(record, "a") as f:
        f.write(json.dumps(entry) + "\n")

def proc_lines():
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                yield f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue

def mirror_lines():
    try:
        with open(mirror, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []

def parent_visible():
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
            return bool(f.read())
    except OSError:
        return False

mirror = record + ".mirror"
route = forced or ("proc" if parent_visible() else "mirror")
with open(record + ".ready.tmp", "w") as f:
    f.write(route)
os.replace(record + ".ready.tmp", record + ".ready")
while time.monotonic() < deadline:
    for words in (proc_lines() if route == "proc" else mirror_lines()):
        if scope not in words:
            continue  # another test's process: another machine, as far as this test goes
        words = urllib.parse.unquote(words)  # a container link carries its URL encoded
        targets = URL.findall(words)
        # A sign-in's authorize URL names its callback and its state: forge the callback, with
        # a code of the watcher's own (a login CSRF), as well as fetching every URL as it is.
        for url in re.findall(r"https?://[^\s\"']+", words):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
            callback = (query.get("redirect_uri") or [""])[0]
            found = URL.match(callback)
            if found and query.get("state"):
                forged = urllib.parse.urlencode({"code": "forged", "state": query["state"][0]})
                targets.append((found.group(1), f"{found.group(2)}?{forged}"))
        for port, path in targets:
            if (port, path) in seen:
                continue
            seen.add((port, path))
            try:
                connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
                connection.request("GET", path)
                answer = connection.getresponse()
                write({"url": f"http://127.0.0.1:{port}{path}", "status": answer.status,
                       "location": answer.getheader("Location") or "",
                       "body": answer.read(4096).decode("utf-8", "replace")})
            except Exception as e:
                write({"url": f"http://127.0.0.1:{port}{path}", "error": type(e).__name__})
        for path in FILE.findall(words):
            if path in seen:
                continue
            seen.add(path)
            try:
                with open(path) as f:
                    write({"file": path, "read": f.read(65536)})
            except OSError as e:
                write({"file": path, "error": e.strerror})
    time.sleep(0.002)
'''

# Run as root where the watcher cannot see other users' processes: every command line, one per
# line, replaced atomically so the watcher never reads half a list.
MIRROR = r'''
import os, sys, time
target, seconds = sys.argv[1], float(sys.argv[2])
deadline, me = time.monotonic() + seconds, str(os.getpid())
while time.monotonic() < deadline:
    lines = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                text = f.read().replace(b"\0", b" ").replace(b"\n", b" ")
        except OSError:
            continue
        if text:
            lines.append(text.decode("utf-8", "replace"))
    with open(target + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(target + ".tmp", 0o644)
    os.replace(target + ".tmp", target)
    time.sleep(0.002)
'''


class Watcher:
    """`with Watcher(user, directory, scope):` runs the script as `user` until the block
    ends, going after the command lines that name `scope` (the test's own directory);
    `attempts()` is what it tried and got."""

    def __init__(self, user, directory: Path, scope: Path, python: str = "/usr/bin/python3",
                 seconds: float = 120):
        self.user, self.python, self.seconds = user, python, seconds
        self.scope = str(scope).rstrip("/") + "/"  # a path under it, not a longer name
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)
        self.script = directory / "watch.py"
        self.script.write_text(SCRIPT)
        self.script.chmod(0o644)
        self.record = directory / "watched"
        self.mirror_script = directory / "mirror.py"
        self.mirror_script.write_text(MIRROR)
        self.errors = directory / "watcher-stderr"
        self.process: subprocess.Popen | None = None
        self.mirror: subprocess.Popen | None = None
        self.route = ""

    def __enter__(self) -> "Watcher":
        with open(self.errors, "wb") as errors:
            self.process = subprocess.Popen(
                [self.python, "-S", str(self.script), str(self.record), str(self.seconds),
                 os.environ.get("XCP_TEST_WATCHER_ROUTE", ""), self.scope],
                user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        ready = Path(str(self.record) + ".ready")
        deadline = time.monotonic() + 15
        while not ready.exists():
            assert self.process.poll() is None, f"the watcher did not start: {self.stderr()}"
            assert time.monotonic() < deadline, "the watcher did not start in time"
            time.sleep(0.02)
        self.route = ready.read_text()
        if self.route == "mirror":
            target = Path(str(self.record) + ".mirror")
            self.mirror = subprocess.Popen(
                [self.python, "-S", str(self.mirror_script), str(target), str(self.seconds)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while not target.exists():
                assert self.mirror.poll() is None, "the command-line mirror did not start"
                assert time.monotonic() < deadline, "the command-line mirror did not start"
                time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        for process in (self.process, self.mirror):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    def stderr(self) -> str:
        return self.errors.read_text(errors="replace")[-2000:] if self.errors.exists() else ""

    def attempts(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line]
