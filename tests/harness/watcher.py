"""Another local user who reads every command line on the machine (as anyone may, in
/proc/PID/cmdline) and takes whatever it names first: every loopback URL fetched at once
(without following a redirect), every file read. Run as a throwaway uid while a test opens the
console or signs in; what it got is one JSON line per attempt in its record."""

import json
import subprocess
import time
from pathlib import Path

SCRIPT = r'''
import http.client, json, os, re, sys, time, urllib.parse
record, seconds = sys.argv[1], float(sys.argv[2])
deadline, me, seen = time.monotonic() + seconds, str(os.getpid()), set()
URL = re.compile(r"http://127\.0\.0\.1:(\d+)(/[A-Za-z0-9_\-./?=&%]*)")
FILE = re.compile(r"file://(/[^\s\"'&]+)")

def write(entry):
    with open(record, "a") as f:
        f.write(json.dumps(entry) + "\n")

open(record + ".ready", "w").close()
while time.monotonic() < deadline:
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
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


class Watcher:
    """`with Watcher(user, directory, python):` runs the script as `user` until the block
    ends; `attempts()` is what it tried and got."""

    def __init__(self, user, directory: Path, python: str = "/usr/bin/python3",
                 seconds: float = 120):
        self.user, self.python, self.seconds = user, python, seconds
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)
        self.script = directory / "watch.py"
        self.script.write_text(SCRIPT)
        self.script.chmod(0o644)
        self.record = directory / "watched"
        self.process = None

    def __enter__(self) -> "Watcher":
        self.process = subprocess.Popen(
            [self.python, "-S", str(self.script), str(self.record), str(self.seconds)],
            user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        deadline = time.monotonic() + 15
        while not Path(str(self.record) + ".ready").exists():
            assert self.process.poll() is None, "the watcher did not start"
            assert time.monotonic() < deadline, "the watcher did not start in time"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def attempts(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line]
