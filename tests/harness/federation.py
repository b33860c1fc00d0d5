"""A stand-in for the AWS federation endpoint on 127.0.0.1: getSigninToken, and the login
redirect a browser follows, which sets a session cookie naming the role on this origin and
sends the browser to `/console`, a page that says who is signed in (from the cookie).

getSigninToken accepts a Session only if it carries exactly a role credential that the
recording STS server issued (key, secret and token), refuses SessionDuration for role-chained
sessions as AWS does, and records each request without its secrets.
"""

import json
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from tests.harness.json_endpoint import HttpEndpoint


class FederationEndpoint(HttpEndpoint):
    def __init__(self, sts):
        self.sts = sts
        self.requests: list[dict] = []
        self.tokens: list[str] = []
        self.roles: dict[str, str] = {}  # sign-in token -> the role's ARN
        self.logins: list[str | None] = []  # the sign-in tokens browsers came with
        super().__init__()
        self.url = f"{self.base_url}/federation"
        self.console = f"{self.base_url}/console"

    def respond(self, method, url, headers, body):
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/console":
            cookie = SimpleCookie(headers.get("Cookie") or "")
            who = cookie["aws-session"].value if "aws-session" in cookie else "nobody"
            page = f"<html><body><p id='who'>signed in as {who}</p></body></html>"
            return 200, "text/html", page.encode()
        if url.path == "/federation" and query.get("Action") == "login":
            self.logins.append(query.get("SigninToken"))
            role = self.roles.get(query.get("SigninToken") or "")
            if role is None:
                return 400, "text/html", b"<html><body>invalid sign-in token</body></html>"
            return 302, "text/html", b"", {
                "Location": "/console",
                "Set-Cookie": f"aws-session={role}; Max-Age=3600; Path=/; HttpOnly"}
        status, answer = self.answer(url, headers)
        return status, "application/json", json.dumps(answer).encode()

    def answer(self, url, headers=None):
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        record = {"path": url.path, "action": query.get("Action"),
                  "duration": query.get("SessionDuration")}
        self.requests.append(record)
        if url.path != "/federation" or query.get("Action") != "getSigninToken":
            return 400, {"message": "bad request"}
        try:
            session = json.loads(query["Session"])
        except (KeyError, ValueError):
            return 400, {"message": "no session"}
        record["session_keys"] = sorted(session)
        key = self.sts.keys.get(session.get("sessionId"))
        record["access_key_id"] = session.get("sessionId")
        if (key is None or key.kind != "role" or key.secret != session.get("sessionKey")
                or key.session_token != session.get("sessionToken")):
            record["matched"] = False
            return 400, {"message": "invalid session"}
        record["matched"] = True
        if "SessionDuration" in query and key.chained:
            return 400, {"message": "SessionDuration is not allowed for role chaining"}
        token = "signin-" + secrets.token_urlsafe(24)
        self.tokens.append(token)
        self.roles[token] = key.arn
        return 200, {"SigninToken": token}
