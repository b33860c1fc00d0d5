"""AWS console URLs: federation sign-in from role credentials, and switch-role links.

A sign-in URL is a credential for 15 minutes: it is returned to the caller (to open or print) and
never logged. Its sign-in token comes from the federation endpoint of the role's partition.
"""

import json
import os
import re
from urllib.parse import quote, urlencode, urlsplit

from .. import debug
from ..config.rules import color_hex
from ..credentials import Credentials
from ..errors import AwsError, ConfigError

# Tests point this at a local stand-in; users have no reason to set it.
FEDERATION_URL_ENV = "XACCOUNT_CREDPROC_FEDERATION_URL"
ISSUER = "xaccount-credproc"
PARTITION_HOSTS = {
    "aws": ("signin.aws.amazon.com", "console.aws.amazon.com"),
    "aws-us-gov": ("signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com"),
    "aws-cn": ("signin.amazonaws.cn", "console.amazonaws.cn"),
    # The European Sovereign Cloud: its own partition, console and sign-in.
    "aws-eusc": ("signin.amazonaws-eusc.eu", "console.amazonaws-eusc.eu"),
}
SERVICE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,40}")


def hosts(partition: str) -> tuple[str, str]:
    try:
        return PARTITION_HOSTS[partition]
    except KeyError:
        raise ConfigError(f"the AWS console of partition {partition} has no federation sign-in "
                          "that xaccount-credproc knows",
                          "use a role in aws, aws-us-gov, aws-cn or aws-eusc") from None


def destination_url(destination: str | None, partition: str, region: str) -> str:
    """A console URL from a full URL in the partition's console, a service name, or nothing."""
    console_host = hosts(partition)[1]
    if not destination:
        return f"https://{console_host}/console/home?region={region}"
    if destination.startswith("https://"):
        host = urlsplit(destination).hostname or ""
        if host != console_host and not host.endswith("." + console_host):
            raise ConfigError(f"destination {destination} is not in the {partition} console "
                              f"({console_host})", "give a console URL or a service name like s3")
        return destination
    if SERVICE_RE.fullmatch(destination):
        return f"https://{console_host}/{destination}/home?region={region}"
    raise ConfigError(f"destination {destination!r} is neither a console URL nor a service name",
                      "e.g. --destination s3 or --destination https://" + console_host + "/ec2/")


def signin_url(credentials: Credentials, partition: str, destination: str,
               session_duration: int | None = None, opener=None) -> str:
    """The login URL for `credentials` (calls the federation endpoint for a sign-in token)."""
    import urllib.error
    import urllib.request

    base = os.environ.get(FEDERATION_URL_ENV) or f"https://{hosts(partition)[0]}/federation"
    session = json.dumps({"sessionId": credentials.access_key_id,
                          "sessionKey": credentials.secret_access_key,
                          "sessionToken": credentials.session_token})
    query = {"Action": "getSigninToken", "Session": session}
    if session_duration is not None:
        query["SessionDuration"] = str(session_duration)
    debug.log(f"getSigninToken from {base}"
              + (f" for {session_duration}s" if session_duration else ""))
    open_url = opener or urllib.request.urlopen
    try:
        with open_url(f"{base}?{urlencode(query)}", timeout=15) as response:
            token = json.loads(response.read().decode("utf-8"))["SigninToken"]
    except urllib.error.HTTPError as e:
        if e.code == 400 and session_duration is not None:
            raise AwsError("the federation endpoint refused --session-duration (HTTP 400): the "
                           "role session is role-chained (its source credentials are temporary)",
                           "run it again without --session-duration (the console session then "
                           "lasts as long as the role credentials)") from None
        if e.code in (400, 401, 403):
            raise AwsError(f"the federation endpoint refused the role credentials (HTTP {e.code})",
                           "they may have expired or been revoked: run "
                           "'xaccount-credproc clear NAME' and try again") from None
        raise AwsError(f"the federation endpoint failed (HTTP {e.code})",
                       "try again later") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise AwsError(f"cannot reach the federation endpoint {base} ({reason})",
                       "check the network and proxy settings") from None
    except (ValueError, KeyError):
        raise AwsError("the federation endpoint sent no sign-in token",
                       "try again later") from None
    login = urlencode({"Action": "login", "Issuer": ISSUER, "Destination": destination,
                       "SigninToken": token}, quote_via=quote)
    return f"{base}?{login}"


def switch_role_url(partition: str, account_id: str, role_path_and_name: str,
                    display_name: str | None, color: str | None) -> str:
    query = {"account": account_id, "roleName": role_path_and_name}
    if display_name:
        query["displayName"] = display_name
    if color:
        query["color"] = color_hex(color)
    return f"https://{hosts(partition)[0]}/switchrole?{urlencode(query, quote_via=quote)}"
