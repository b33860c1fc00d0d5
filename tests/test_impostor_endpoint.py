"""An STS endpoint that answers something else: a captive portal's page, an intercepting proxy's
empty 404, a truncated answer, JSON. Each is one line naming the endpoint, the HTTP status and
the content type, exit 3, no traceback, in credential-process and in doctor."""

import pytest

from tests.harness.json_endpoint import HttpEndpoint

ANSWERS = {
    "captive-portal": (200, "text/html; charset=utf-8",
                       b"<html><body><h1>Sign in to Hotel Wi-Fi</h1></body></html>"),
    "empty-404": (404, "text/plain", b""),
    "truncated-xml": (200, "text/xml",
                      b"<AssumeRoleResponse xmlns='https://sts.amazonaws.com/doc/2011-06-15/'>"
                      b"<AssumeRoleResult><Credentials><AccessKeyId>ASIA"),
    "json": (200, "application/json", b'{"status": "ok"}'),
    "empty-xml": (200, "text/xml",
                  b"<GetSessionTokenResponse xmlns='https://sts.amazonaws.com/doc/2011-06-15/'>"
                  b"<GetSessionTokenResult></GetSessionTokenResult></GetSessionTokenResponse>"),
}


class Impostor(HttpEndpoint):
    """Answers every request with one canned (status, content type, body)."""

    def __init__(self, status: int, kind: str, body: bytes):
        self.canned = (status, kind, body)
        super().__init__()
        self.url = self.base_url

    def respond(self, method, url, headers, body):
        return self.canned


@pytest.fixture(params=sorted(ANSWERS))
def impostor(request):
    status, kind, body = ANSWERS[request.param]
    server = Impostor(status, kind, body)
    yield server, status, kind.split(";")[0]
    server.stop()


def test_credential_process_names_the_endpoint_status_and_content_type(world, impostor):
    server, status, kind = impostor
    world.standard()
    world.use_mfa_process()
    result = world.run("credential-process", "--profile", "prod-read-only",
                       env={"AWS_ENDPOINT_URL_STS": server.url})
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    # With MFA and long-term keys the first call is GetSessionToken (the MFA session).
    assert lines[0] == (
        f"xaccount-credproc: {server.url} answered GetSessionToken with HTTP {status} {kind}, "
        "not an STS response: a proxy or captive portal in between?; sign in to the network, "
        "or check the proxy settings (HTTPS_PROXY, NO_PROXY) and AWS_ENDPOINT_URL_STS")


def test_the_aws_cli_shows_the_same_line(world, impostor):
    server, status, kind = impostor
    world.standard()
    world.use_mfa_process()
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only",
                       env={"AWS_ENDPOINT_URL_STS": server.url})
    assert result.returncode == 255
    assert f"answered GetSessionToken with HTTP {status} {kind}, not an STS response" \
        in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_doctor_fails_the_sts_check_with_the_same_words(world, impostor):
    server, status, kind = impostor
    world.standard()
    world.use_mfa_process()
    assert world.run("init", "--force").returncode == 0  # managed stanzas: only STS can fail
    result = world.run("doctor", env={"AWS_ENDPOINT_URL_STS": server.url})
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failed == [
        f"FAIL  STS via source profile 'dev': {server.url} answered GetCallerIdentity with HTTP "
        f"{status} {kind}, not an STS response: a proxy or captive portal in between?; sign in "
        "to the network, or check the proxy settings (HTTPS_PROXY, NO_PROXY) and "
        "AWS_ENDPOINT_URL_STS"], result.stdout
    assert "Traceback" not in result.stderr and "internal error" not in result.stdout
