"""Profile names from a template, for every kind of discovery (`init --from-organization`,
`sso sync`): one function, one set of placeholders, one option (`--name-template`).

The template's placeholders are filled in, every run of characters a profile name may not hold
becomes one '-', and the result is cut to a profile name's 128 characters; case is kept, as AWS
shows the names. A name already taken (compared without case: two profiles whose names differ
only in case are a trap) gets the account ID appended, then -2, -3, ...
"""

import re

from ..errors import ConfigError

OPTION = "--name-template"
PLACEHOLDERS = ("account_name", "account_id", "role_name", "session")
# {role} is how `init --name-template` spelled the role's name before there was one template.
ALIASES = {"role": "role_name"}
DEFAULT_TEMPLATE = "{account_name}-{role_name}"
MAX_NAME = 128
_OUTSIDE = re.compile(r"[^A-Za-z0-9_.@+-]+", re.ASCII)


def check_template(template: str) -> str:
    """`template`, or a ConfigError naming what is wrong with it."""
    try:
        _fill(template, "x", "1", "r", "s")
    except (KeyError, IndexError, ValueError) as e:
        raise ConfigError(
            f"{OPTION} {template!r} is not a usable name template ({e})",
            "use the placeholders " + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            + f", e.g. {OPTION} '{DEFAULT_TEMPLATE}'") from None
    return template


def _fill(template: str, account_name: str, account_id: str, role_name: str,
          session: str) -> str:
    values = {"account_name": account_name, "account_id": account_id, "role_name": role_name,
              "session": session}
    values.update({alias: values[name] for alias, name in ALIASES.items()})
    return template.format(**values)


def profile_name(template: str, taken: set[str], *, account_name: str, account_id: str,
                 role_name: str, session: str = "") -> str:
    """A new profile's name from `template` (checked), valid and not in `taken` (without case),
    which it is added to."""
    raw = _fill(template, account_name, account_id, role_name, session)
    base = _OUTSIDE.sub("-", raw).strip("-").lstrip(".@+-")[:MAX_NAME].rstrip("-")
    base = base or f"{account_id}-{role_name}"
    folded = {name.lower() for name in taken}
    name = base
    if name.lower() in folded:  # two accounts of one name, or a hand-made profile: the ID tells
        base = name = f"{base[:MAX_NAME - len(account_id) - 1]}-{account_id}"
    number = 1
    while name.lower() in folded:
        number += 1
        name = f"{base[:MAX_NAME - len(str(number)) - 1]}-{number}"
    taken.add(name)
    return name
