"""A cluster, its user and a context merged into a kubeconfig, as `aws eks update-kubeconfig`
does, with everything else kept byte for byte where the YAML allows.

The file is the first of $KUBECONFIG, else ~/.kube/config. It is read with PyYAML, whose node
marks say where each entry's text starts and ends: an entry of ours (by name) is replaced in
place, a new one is added after the last of its list, `current-context` set, and nothing else
is touched (comments, order, quoting, other clusters, users and contexts). The result is parsed
again and must mean exactly the old document with our entries in it; where the layout does not
allow an edit in place (a JSON kubeconfig, flow-style lists), the document is written out anew
from what it means, and the command says so. Written atomically (a symlink's target), mode
0600, under a lock, in one go; nothing is written when the file is not YAML, or unreadable.
Running it again changes nothing.
"""

import json
import os
import re
from typing import Any

from ..errors import ConfigError, UserError

SAFE_PLAIN = re.compile(r"[A-Za-z0-9_./@+=,-][A-Za-z0-9_./:@+=,-]*")
LISTS = ("clusters", "users", "contexts")


def path() -> str:
    """Where kubectl reads (and `aws eks update-kubeconfig` writes): the first of $KUBECONFIG,
    else ~/.kube/config."""
    from .. import files

    for part in os.environ.get("KUBECONFIG", "").split(os.pathsep):
        if part:
            return os.path.expanduser(part)
    return os.path.join(files.home(), ".kube", "config")


def scalar(value: str) -> str:
    """A YAML scalar for `value`: plain where it is safe to be, else double-quoted (JSON's
    escapes are YAML's)."""
    if SAFE_PLAIN.fullmatch(value) and value not in ("null", "true", "false", "~", "yes",
                                                     "no", "on", "off") \
            and not re.fullmatch(r"[-+]?[0-9.]+([eE][-+]?[0-9]+)?", value):
        return value
    return json.dumps(value)


class Entries:
    """What goes in: the cluster, the user (kubectl runs the helper's fast line), the context."""

    def __init__(self, cluster_name: str, server: str, certificate: str, user_name: str,
                 command: list[str], context_name: str):
        self.cluster: dict[str, Any] = {"name": cluster_name,
                        "cluster": {"certificate-authority-data": certificate, "server": server}}
        self.user: dict[str, Any] = {"name": user_name,
                     "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                       "command": command[0], "args": command[1:],
                                       "env": None, "interactiveMode": "IfAvailable",
                                       "provideClusterInfo": False}}}
        self.context: dict[str, Any] = {"name": context_name,
                        "context": {"cluster": cluster_name, "user": user_name}}

    def by_list(self) -> dict[str, dict]:
        return {"clusters": self.cluster, "users": self.user, "contexts": self.context}


def render_item(entry: dict, indent: int) -> list[str]:
    """The lines of one list item (a mapping), the first without its `- `, the others indented
    `indent` spaces (the column of the mapping's keys)."""
    lines: list[str] = []

    def emit(key: str, value, depth: int) -> None:
        pad = " " * depth
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            for k in sorted(value):  # kubectl writes keys in order
                emit(k, value[k], depth + 2)
        elif isinstance(value, list):
            lines.append(f"{pad}{key}:")
            lines.extend(f"{pad}- {scalar(str(item))}" for item in value)
        elif value is None:
            lines.append(f"{pad}{key}: null")
        elif isinstance(value, bool):
            lines.append(f"{pad}{key}: {'true' if value else 'false'}")
        else:
            lines.append(f"{pad}{key}: {scalar(str(value))}")

    for key in sorted(entry):
        emit(key, entry[key], 0)
    return [lines[0]] + [" " * indent + line for line in lines[1:]]


class Merge:
    """The new text of the kubeconfig, and what changed."""

    def __init__(self, old: str, new: str, in_place: bool, replaced: list[str],
                 added: list[str]):
        self.old, self.new, self.in_place = old, new, in_place
        self.replaced, self.added = replaced, added

    @property
    def changed(self) -> bool:
        return self.old != self.new


def merged(text: str, entries: Entries, where: str) -> Merge:
    """`text` with `entries` in it and its context current."""
    import yaml

    try:
        document = yaml.safe_load(text) if text.strip() else None
        root = yaml.compose(text) if text.strip() else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or type(e).__name__
        raise ConfigError(f"{where} is not YAML ({problem}{at}): nothing was written",
                          "fix the file (kubectl reads it the same way), or point KUBECONFIG "
                          "at another") from None
    if document is None:
        document = {}
    if not isinstance(document, dict) or any(
            not isinstance(document.get(key) or [], list) for key in LISTS):
        raise ConfigError(f"{where} is not a kubeconfig (a mapping with lists of clusters, "
                          "users and contexts): nothing was written",
                          "fix the file, or point KUBECONFIG at another")
    expected, replaced, added = _expected(document, entries)
    new = None
    if root is None or (isinstance(root, yaml.MappingNode) and not root.flow_style):
        new = _in_place(text, root, entries, expected)
    if new is not None:
        return Merge(text, new, True, replaced, added)
    if text.lstrip().startswith("{"):
        anew = json.dumps(expected, indent=2) + "\n"
    else:
        anew = yaml.safe_dump(expected, sort_keys=False, default_flow_style=False)
    return Merge(text, anew, False, replaced, added)


def _expected(document: dict, entries: Entries) -> tuple[dict, list[str], list[str]]:
    """What the document must mean afterwards; (it, the names replaced, the names added)."""
    import copy

    expected = copy.deepcopy(document)
    expected.setdefault("apiVersion", "v1")
    expected.setdefault("kind", "Config")
    replaced, added = [], []
    for key, entry in entries.by_list().items():
        items = expected.get(key) or []
        expected[key] = items
        for index, item in enumerate(items):
            if isinstance(item, dict) and item.get("name") == entry["name"]:
                if item != entry:
                    replaced.append(f"{key[:-1]} {entry['name']}")
                items[index] = entry
                break
        else:
            items.append(entry)
            added.append(f"{key[:-1]} {entry['name']}")
    expected["current-context"] = entries.context["name"]
    return expected, replaced, added


def _in_place(text: str, root, entries: Entries, expected: dict) -> str | None:
    """`text` edited in place, or None where its layout does not allow it (then the caller
    writes the document anew)."""
    import yaml

    newline = "\r\n" if "\r\n" in text else "\n"
    edits: list[tuple[int, int, str]] = []  # (start, end, new text), applied from the end
    appended: list[str] = []
    pairs = root.value if root is not None else []
    values = {key.value: value for key, value in pairs}
    keys = {key.value: key for key, _ in pairs}
    for key, entry in entries.by_list().items():
        node = values.get(key)
        if node is None:
            appended += [f"{key}:", *_block_item(entry, 0)]
        elif isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
            edit = _into_block_list(text, node, entry, newline)
            if edit is None:
                return None
            edits.append(edit)
        elif (isinstance(node, yaml.SequenceNode) and not node.value) or (
                isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            # `users: []`, `users:` or `users: null`: the list starts on the next line, in
            # place of what followed the colon on the key's line.
            start = text.find(":", keys[key].end_mark.index) + 1
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            end -= text[:end].endswith("\r")
            value_end = node.end_mark.index if start <= node.end_mark.index <= end else start
            if start <= 0:
                return None
            rest = text[value_end:end]  # a comment on the key's line stays there
            edits.append((start, end, rest + newline.join(["", *_block_item(entry, 0)])))
        else:
            return None
    current = values.get("current-context")
    if current is None:
        appended.append(f"current-context: {scalar(entries.context['name'])}")
    elif isinstance(current, yaml.ScalarNode):
        edits.append((current.start_mark.index, current.end_mark.index,
                      scalar(entries.context["name"])))
    else:
        return None
    appended = [f"{key}: {expected[key]}" for key in ("apiVersion", "kind")
                if key not in values] + appended
    new = text
    for start, end, replacement in sorted(edits, reverse=True):
        new = new[:start] + replacement + new[end:]
    if appended:
        if new and not new.endswith("\n"):
            new += newline
        new += newline.join(appended) + newline
    try:
        return new if yaml.safe_load(new) == expected else None
    except yaml.YAMLError:
        return None


def _block_item(entry: dict, dash: int) -> list[str]:
    lines = render_item(entry, dash + 2)
    return [" " * dash + "- " + lines[0], *lines[1:]]


def _into_block_list(text: str, node, entry: dict, newline: str):
    """The edit that puts `entry` into a block list: over the item of its name, or after the
    last item."""
    for item in node.value:
        fields = {k.value: v for k, v in getattr(item, "value", [])
                  if hasattr(k, "value") and isinstance(k.value, str)}
        name = fields.get("name")
        if name is not None and getattr(name, "value", None) == entry["name"]:
            start, end = item.start_mark.index, item.end_mark.index
            tail = text[start:end]
            kept = tail[len(tail.rstrip("\r\n")):] or ""  # the item's own line end
            lines = render_item(entry, item.start_mark.column)
            return start, end, newline.join(lines) + (kept or newline)
    last = node.value[-1]
    dash = text.rfind("-", 0, last.start_mark.index) - text.rfind("\n", 0, last.start_mark.index) - 1
    if dash < 0:
        return None
    at = node.end_mark.index
    prefix = "" if at == 0 or text[at - 1] == "\n" else newline
    return at, at, prefix + newline.join(_block_item(entry, dash)) + newline


def write(target: str, text: str) -> None:
    """Replace the kubeconfig (through a symlink, as kubectl does), atomically, mode 0600."""
    from .. import files

    real = os.path.realpath(target)
    try:
        os.makedirs(os.path.dirname(real) or ".", mode=0o700, exist_ok=True)
        files.replace_atomically(real, text.encode("utf-8"), 0o600)
    except OSError as e:
        raise UserError(f"cannot write the kubeconfig {target} ({e.strerror})",
                        "check the permissions of the file and its directory") from None


def read(target: str) -> str:
    """The kubeconfig's text ("" when there is none); one line when it cannot be read."""
    import stat

    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return ""
    except OSError as e:
        raise UserError(f"cannot read the kubeconfig {target} ({e.strerror}): nothing was "
                        "written", "fix its permissions, or point KUBECONFIG at another") \
            from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UserError(f"the kubeconfig {target} is not a regular file: nothing was written",
                        "point KUBECONFIG at a file")
    with open(fd, "rb") as f:
        data = f.read(16 << 20)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"the kubeconfig {target} is not UTF-8 text: nothing was written",
                          "fix the file, or point KUBECONFIG at another") from None


def update(profile, credentials, cluster_name: str, region: str, alias: str | None,
           config_path: str, dry_run: bool, warnings: list[str]) -> tuple[str, Merge, str]:
    """DescribeCluster as the profile's role, then its entries merged into the kubeconfig
    (written unless `dry_run`); (the kubeconfig's path, what changed, the context's name)."""
    from ..config.stanzas import helper_command, locked
    from .cluster import describe

    cluster = describe(profile, credentials, cluster_name, region, warnings)
    command = [*helper_command(config_path, "eks-token"), "--profile", profile.name,
               "--cluster", cluster.name, "--region", cluster.region]
    user = f"{profile.name}@{cluster.arn}"
    entries = Entries(cluster.arn, cluster.endpoint, cluster.certificate, user, command,
                      alias or user)
    target = path()
    with locked(target, "the kubeconfig"):
        merge = merged(read(target), entries, target)
        if merge.changed and not dry_run:
            write(target, merge.new)
    return target, merge, entries.context["name"]
