"""A stand-in for the AWS federation endpoint (getSigninToken) on 127.0.0.1.

It accepts a Session only if it carries exactly a role credential that the recording STS server
issued (key, secret and token), refuses SessionDuration for role-chained sessions as AWS does, and
records each request without its secrets.
"""

import json
import secrets
from urllib.parse import parse_qs

from tests.harness.json_endpoint import JsonEndpoint


class FederationEndpoint(JsonEndpoint):
    def __init__(self, sts):
        self.sts = sts
        self.requests: list[dict] = []
        self.tokens: list[str] = []
        super().__init__()
        self.url = f"{self.base_url}/federation"

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
        return 200, {"SigninToken": token}
