"""The one loopback listener (web/loopback.py), which the console's hop and every sign-in's
callback are: it answers only the user's own processes. Its other end is found in the kernel's
socket tables; a connection from another uid (a throwaway user, made with useradd) is answered
403, counted, and uses nothing up."""

import http.client
import os
import subprocess
import sys
import threading

from tests.harness.users import as_user
from xaccount_credproc.web import loopback

FETCH = ("import http.client, sys\n"
         "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)\n"
         "c.request('GET', sys.argv[2]); r = c.getresponse()\n"
         "print(r.status, r.getheader('Location') or '')\n")


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    return answer.status, answer.getheader("Location") or ""


def test_the_owner_of_a_loopback_connection_is_found_in_the_kernels_tables():
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    try:
        assert loopback.peer_uid(client.getsockname(), server.getsockname()) == os.geteuid()
        assert loopback.peer_uid(("127.0.0.1", 1), server.getsockname()) is None
    finally:
        client.close()
        server.close()
    assert loopback.owner_check_available()  # Linux: the tests run where the check is made


def test_another_users_request_is_refused_counted_and_uses_nothing_up(throwaway_user):
    def handle(query):
        return loopback.redirect("https://signin.example/?SigninToken=secret"), True

    with loopback.Listener("/hop", handle, "test hop") as hop:
        other = as_user(throwaway_user, ["/usr/bin/python3", "-S", "-c", FETCH, str(hop.port),
                                         "/hop"], env={"PATH": "/usr/bin:/bin"})
        assert other.returncode == 0, other.stderr
        assert other.stdout.split() == ["403"]  # no Location: nothing of the target
        assert not hop.done.is_set() and hop.refused == [throwaway_user.pw_uid]
        assert hop.refusals() == f"uid {throwaway_user.pw_uid} ({throwaway_user.pw_name})"
        assert get(hop.port, "/hop") == (302, "https://signin.example/?SigninToken=secret")
        assert hop.done.is_set()
        assert get(hop.port, "/hop") == (404, "")  # used: nothing more, to anyone


def test_a_listener_waits_for_its_request_and_no_longer():
    with loopback.Listener("/cb", lambda query: (loopback.page(b"ok"), True)) as callback:
        assert callback.wait(0.3) is False
        threading.Timer(0.2, lambda: get(callback.port, "/cb?x=1")).start()
        assert callback.wait(10) is True


def test_the_listener_runs_in_a_helper_process_as_well(tmp_path):
    """What the commands do: the listener in a process of its own, the request from another."""
    code = ("import sys, threading; from xaccount_credproc.web import loopback\n"
            "with loopback.Listener('/p', lambda q: (loopback.page(b'x'), True)) as l:\n"
            "    print(l.port, flush=True); print(l.wait(20))\n")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    port = int(process.stdout.readline())
    assert get(port, "/p")[0] == 200
    assert process.stdout.readline().strip() == "True"
    assert process.wait(timeout=10) == 0
