"""Recording browsers for `console`: programs that write down the argv they were started with
(one JSON line each) and then do with the local hop what a browser does: fetch it, and either
note where it redirects (`follow=False`) or follow it to the end."""

import json
import sys

SCRIPT = """#!{python}
import http.client, json, os, sys, time, urllib.parse, urllib.request
with open({record!r}, "a") as f:
    f.write(json.dumps(sys.argv) + "\\n")
# A browser takes most of a second to start; this one waits until someone else has read its
# command line and tried the URL on it (`wait_for` has a line), at most `delay` seconds.
deadline = time.monotonic() + {delay!r}
while time.monotonic() < deadline and not (
        {wait_for!r} and os.path.exists({wait_for!r}) and open({wait_for!r}).read().strip()):
    time.sleep(0.02)
url = sys.argv[-1]
if url.startswith("ext+container:"):
    url = urllib.parse.parse_qs(url[len("ext+container:"):])["url"][0]
if {follow!r}:
    urllib.request.urlopen(url, timeout=10).read()
else:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", parts.path)
    answer = connection.getresponse()
    with open({record!r} + ".location", "a") as f:
        f.write((answer.getheader("Location") or "") + "\\n")
"""


def recording_browser(world, name: str, follow: bool = False, delay: float = 0.0,
                      wait_for=None):
    """(a directory to put first on PATH holding `name`, the argv record file). `delay`: how
    long the browser takes to start at most; `wait_for`: a file whose first line ends that wait
    (another user's attempt on the URL, say)."""
    directory = world.root / f"browsers-{name}"
    directory.mkdir(exist_ok=True)
    record = world.root / f"{name}-argv"
    program = directory / name
    program.write_text(SCRIPT.format(python=sys.executable, record=str(record), follow=follow,
                                     delay=delay, wait_for=str(wait_for) if wait_for else ""))
    program.chmod(0o755)
    return directory, record


def started(record) -> list[list[str]]:
    return [json.loads(line) for line in record.read_text().splitlines()]


def locations(record) -> list[str]:
    return (record.parent / (record.name + ".location")).read_text().splitlines()
