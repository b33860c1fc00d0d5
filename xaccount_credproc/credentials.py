"""Temporary AWS credentials and the credential_process output format."""

import json
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(repr=False)
    expiration: int  # seconds since the epoch, UTC: no time zone to get wrong

    def seconds_left(self, now: float | None = None) -> float:
        return self.expiration - (time.time() if now is None else now)

    def expiration_rfc3339(self) -> str:
        # botocore crashes on naive timestamps and Go parses strictly: always UTC with "Z".
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expiration))

    def process_json(self) -> str:
        """The document `credential_process` must print (Version is the integer 1)."""
        doc = {"Version": 1, "AccessKeyId": self.access_key_id,
               "SecretAccessKey": self.secret_access_key}
        if self.session_token:
            doc["SessionToken"] = self.session_token
        doc["Expiration"] = self.expiration_rfc3339()
        return json.dumps(doc)

    @classmethod
    def from_sts(cls, response_credentials: dict) -> "Credentials":
        """From the `Credentials` member of an STS response (Expiration is an aware datetime)."""
        return cls(
            access_key_id=response_credentials["AccessKeyId"],
            secret_access_key=response_credentials["SecretAccessKey"],
            session_token=response_credentials.get("SessionToken"),
            expiration=int(response_credentials["Expiration"].timestamp()),
        )
