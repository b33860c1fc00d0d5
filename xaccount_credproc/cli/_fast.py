"""The three command lines that run on nearly every `aws`, kubectl and prompt command, read
exactly (without argparse, whose import costs more than a whole cache hit) and served from the
cache before anything else is imported: `credential-process --profile NAME`, `eks-token
--profile NAME --cluster NAME [--region R]`, `shell prompt --profile NAME` (credentials/hit.py).
Anything else, and every miss, goes to the full path."""

import sys


def exact(argv: list[str], command: tuple[str, ...], options: tuple[str, ...]) -> dict | None:
    """The values of `[--config PATH] [--debug] COMMAND... [--OPTION VALUE...]` read without
    argparse (whose import costs more than a whole cache hit): {"config", "debug", and each
    option's name}, or None for anything else (help, a typo, an unknown option: argparse
    explains them). `--config` may come before or after the command."""
    values: dict = {"config": None, "debug": False, **{o[2:]: None for o in options}}
    seen = 0
    index = 0
    while index < len(argv):
        token = argv[index]
        name, has_value, inline = token.partition("=")
        if seen < len(command) and token == command[seen]:
            seen += 1
        elif token == "--debug":
            values["debug"] = True
        elif (name in options and seen == len(command)) or name == "--config":
            if has_value:
                value = inline
            elif index + 1 < len(argv):
                index += 1
                value = argv[index]
            else:
                return None
            values[name[2:]] = value
        else:
            return None
        index += 1
    if seen != len(command) or values["config"] == "":
        return None
    return values


def served(argv: list[str]) -> int | None:
    """What `credential-process`, `eks-token` and a prompt's line print on a cache hit, before
    anything else is imported (credentials/hit.py); None: the full path runs."""
    if not argv or "--debug" in argv or "--help" in argv or not sys.platform.startswith("linux"):
        return None
    if "credential-process" in argv:
        values = exact(argv, ("credential-process",), ("--profile", "--source"))
        kind = "process"
    elif "eks-token" in argv:
        values = exact(argv, ("eks-token",), ("--profile", "--cluster", "--region"))
        kind = "eks"
    elif "prompt" in argv:
        values = exact(argv, ("shell", "prompt"), ("--profile",))
        kind = "prompt"
    else:
        return None
    if values is None or not values["profile"] or values.get("source"):
        return None
    if kind == "eks":
        from ..eks.token import valid_cluster_name

        if not valid_cluster_name(values["cluster"] or ""):
            return None
    from ..credentials.hit import hit

    found = hit(values["config"], values["profile"], 0 if kind == "prompt" else None)
    if found is None:
        return None
    card, credentials = found
    if kind == "process":
        text = credentials.process_json(card.get("account"))
    elif kind == "eks":
        from ..eks.token import exec_credential, token

        value, expires = token(credentials, values["cluster"],
                               values["region"] or card.get("region") or "us-east-1")
        text = exec_credential(value, expires)
    else:
        from ..credentials.hit import prompt_text

        text = prompt_text(values["profile"], credentials)
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        return 1
    return 0
