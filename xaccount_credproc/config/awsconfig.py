"""Managed profile stanzas in the AWS config file, written without touching anything else.

The file is read as lines (line endings kept) and split into sections at the lines botocore reads
as section headers. A managed stanza is a `[profile NAME]` header directly followed by our marker
comment and then `key = value` lines; it ends at the first line that is none of those. Everything
else (comments, blank lines, other sections, spacing, CRLF) is never rewritten: new stanzas are
appended at the end, existing ones are replaced in place, pruned ones are cut out.

Stanzas hold only `credential_process`, `region` and `output`: a `role_arn` or `source_profile`
there would make botocore assume the role itself and never call the helper.
"""

import difflib
import re
import shlex

from ..errors import ConfigError, UserError

MARKER = ("# managed by xaccount-credproc: edit its TOML config and run "
          "'xaccount-credproc init'")
HEADER_RE = re.compile(r"\[(?P<header>.+)\]")
# The settings a managed stanza holds; any other line ends it (a user's own additions stay).
OWN_KEY_RE = re.compile(r"(credential_process|region|output|sso_start_url|sso_region|"
                        r"sso_registration_scopes)\s*=")
SESSION_PREFIX = "sso-session "
KEY_LINE_RE = re.compile(r"[A-Za-z0-9_.-]+\s*[=:]")
# Settings through which botocore gets a profile's credentials: a hand-written section with any
# of them is the user's way of getting credentials, never taken over.
CREDENTIAL_KEYS = ("credential_process", "role_arn", "source_profile", "credential_source",
                   "web_identity_token_file", "sso_session", "sso_start_url", "sso_account_id",
                   "sso_role_name", "login_session", "aws_access_key_id", "aws_secret_access_key",
                   "aws_session_token")
COMMENT_CHARS = "#;"
# Safe unquoted in POSIX shlex, `sh -c` and the Windows splitters.
BARE_WORD_RE = re.compile(r"[A-Za-z0-9_./:@+=,-]+")


class Section:
    """A run of lines: the preamble (header None) or a section from its header line on."""

    def __init__(self, start: int, header: str | None, raw_header: str = ""):
        self.start = start
        self.end = start  # exclusive, set by split()
        self.header = header
        self.raw_header = raw_header

    @property
    def profile(self) -> str | None:
        """The profile name botocore gives this section, if any (its build_profile_map rules)."""
        if self.header is None:
            return None
        if self.header == "default":
            return "default"
        if self.header.startswith("profile"):
            try:
                parts = shlex.split(self.header)
            except ValueError:
                return None
            if len(parts) == 2:
                return parts[1]
        return None

    @property
    def key(self) -> str | None:
        """What init manages this section as: its profile name, or "sso-session NAME"."""
        if self.header is not None and self.header.startswith(SESSION_PREFIX):
            name = self.header[len(SESSION_PREFIX):].strip()
            return SESSION_PREFIX + name if name else None
        return self.profile


LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, broken only where Python's universal newlines (and so
    configparser) break them: not at form feeds or Unicode separators, as str.splitlines does."""
    return LINE_RE.findall(text)


def sections(lines: list[str]) -> list[Section]:
    """Sections as configparser (and so botocore) finds them."""
    out = [Section(0, None)]
    for index, line in enumerate(lines):
        stripped = line.strip()
        match = HEADER_RE.match(stripped)
        # configparser reads an indented "[x]" under an option as a continuation of its value.
        indented = line[:1] in (" ", "\t")
        if match and not (indented and out[-1].header is not None):
            out[-1].end = index
            out.append(Section(index, match["header"], line))
    out[-1].end = len(lines)
    return out


def duplicates(text: str) -> list[tuple[str, list[int]]]:
    """(header, line numbers) of each section header that appears more than once: configparser,
    and so every botocore-based client, refuses the whole file then."""
    lines = split_lines(text)
    seen: dict[str, list[int]] = {}
    for section in sections(lines):
        if section.header is not None:
            seen.setdefault(section.header, []).append(section.start + 1)
    return [(header, numbers) for header, numbers in seen.items() if len(numbers) > 1]


def refuse_duplicates(path: str, text: str, then: str = "'xaccount-credproc init'") -> None:
    """Raises ConfigError naming each duplicated section with its line numbers; the fix says
    to run `then` again."""
    found = duplicates(text)
    if found:
        where = "; ".join(f"[{header}] at lines {', '.join(map(str, numbers))}"
                          for header, numbers in found)
        raise ConfigError(f"{path} has the same section twice ({where}), so the AWS CLI cannot "
                          "read it at all", f"merge each into one section, then run {then} "
                          "again")


def managed_span(lines: list[str], section: Section) -> tuple[int, int] | None:
    """(start, end) of our stanza at `section`, or None if the section is not ours."""
    if section.header is None or section.start + 1 >= len(lines):
        return None
    if lines[section.start + 1].strip() != MARKER:
        return None
    end = section.start + 2
    while end < section.end and OWN_KEY_RE.match(lines[end]):
        end += 1
    return section.start, end


def quote_word(word: str) -> str:
    """`word` quoted so that shlex (botocore on POSIX), `sh -c` (the Go, JS and Ruby SDKs) and the
    Windows splitters (botocore and Go on Windows) all read the same single word, and so that the
    line is read the same by every INI reader first.

    The quotes open after the first character (`/"opt/my tools/x"`), never before it: the Go
    SDK's INI reader before its late-2023 rewrite (aws-sdk-go v1, v2 up to about config v1.25,
    as Debian 12 ships it) takes a value that *starts* with a quote as one quoted string and
    drops everything after it, the arguments included. A quote inside a word means the same to
    all three splitters. `#` and `;` are refused outright: some readers end a value there."""
    if any(c in word for c in COMMENT_CHARS):
        raise ConfigError(f"the path {word!r} contains # or ;, which some AWS SDKs read as the "
                          "start of a comment in ~/.aws/config", "install xaccount-credproc (and "
                          "keep its config) where the path has neither")
    if BARE_WORD_RE.fullmatch(word):
        return word
    # Never safe, quoted or not: quotes, expansions of sh and cmd.exe, escapes before a quote.
    if any(c in word for c in '"\'$`%!\n\r\0') or word.endswith("\\") or "\\\\" in word:
        raise ConfigError(f"the path {word!r} cannot be written safely into a credential_process "
                          "line", "install xaccount-credproc where its path has no quotes, "
                          "$, %, ! or backslash pairs")
    if not BARE_WORD_RE.fullmatch(word[0]):
        raise ConfigError(f"the path {word!r} cannot be written safely into a credential_process "
                          "line", "use an absolute path (starting with / or a drive letter)")
    return f'{word[0]}"{word[1:]}"'


def misread_line(value: str) -> str | None:
    """Why some client would misread a credential_process value as written, or None."""
    if value.startswith('"'):
        return ("it starts with a quote, which the Go SDK before late 2023 (Terraform, "
                "aws-sdk-go v1) reads as the whole value, dropping the arguments")
    if any(c in value for c in COMMENT_CHARS):
        return "it contains # or ;, which some SDKs read as the start of a comment"
    return None


def render(name: str, command: list[str], region: str | None, output: str | None,
           newline: str = "\n") -> str:
    """One managed stanza (ending with a newline)."""
    lines = [f"[profile {name}]", MARKER,
             "credential_process = " + " ".join(quote_word(w) for w in command)]
    if region:
        lines.append(f"region = {region}")
    if output:
        lines.append(f"output = {output}")
    return newline.join(lines) + newline


def render_session(name: str, start_url: str, region: str, scopes: list[str],
                   newline: str = "\n") -> str:
    """One managed [sso-session NAME] stanza, from the TOML's [sso-sessions.NAME]."""
    lines = [f"[{SESSION_PREFIX}{name}]", MARKER, f"sso_start_url = {start_url}",
             f"sso_region = {region}"]
    if scopes:
        lines.append(f"sso_registration_scopes = {', '.join(scopes)}")
    return newline.join(lines) + newline


def _settings(lines: list[str], section: Section) -> dict[str, str]:
    out = {}
    for line in lines[section.start + 1:section.end]:
        if "=" in line and not line[:1].isspace() and line.strip()[:1] not in COMMENT_CHARS:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


class Plan:
    """What init would change: the new text and a report of each profile's fate."""

    def __init__(self, old: str, new: str):
        self.old = old
        self.new = new
        self.added: list[str] = []
        self.updated: list[str] = []
        self.unchanged: list[str] = []
        self.pruned: list[str] = []
        self.conflicts: list[str] = []  # hand-written profiles of the same name, left alone
        self.conflict_keys: dict[str, list[str]] = {}  # their credential settings, by name
        self.adopted: list[str] = []  # hand-written, without credential settings: taken over
        self.replaced: list[str] = []  # hand-written profiles overwritten with --force

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self, path: str) -> str:
        return "".join(difflib.unified_diff(split_lines(self.old), split_lines(self.new),
                                            f"{path} (current)", f"{path} (after init)"))


def section_keys(lines: list[str], section: Section) -> tuple[int, list[str]]:
    """(the end of the section's run of settings after its header, their lines)."""
    end = section.start + 1
    while end < section.end and (KEY_LINE_RE.match(lines[end])
                                 or (lines[end][:1] in (" ", "\t") and lines[end].strip())):
        end += 1
    return end, lines[section.start + 1:end]


def credential_settings(lines: list[str], section: Section) -> list[str]:
    """The CREDENTIAL_KEYS a hand-written section sets, in file order."""
    found = []
    for line in lines[section.start + 1:section.end]:
        key = re.split(r"[=:]", line, maxsplit=1)[0].strip()
        if key in CREDENTIAL_KEYS and key not in found and not line[:1].isspace():
            found.append(key)
    return found


def plan(text: str, wanted: dict[str, str], force: bool = False, prune: bool = False,
         adopt: "set[str] | frozenset[str]" = frozenset()) -> Plan:
    """Apply `wanted` (profile name -> rendered stanza) to the config `text`. A hand-written
    section of a name in `adopt` without credential settings is taken over: the stanza goes in
    its place and its other settings stay after it."""
    lines = split_lines(text)
    first_break = re.search(r"\r\n|\r|\n", text)
    newline = first_break.group() if first_break else "\n"
    wanted = {name: stanza.replace("\n", newline) if newline != "\n" else stanza
              for name, stanza in wanted.items()}
    # Replacements: (start, end, new lines), applied from the bottom up.
    edits: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    result = Plan(text, text)
    for section in sections(lines):
        name = section.key
        if name is None:
            continue
        span = managed_span(lines, section)
        if span is not None:
            if name in wanted and name not in seen:
                current = "".join(lines[span[0]:span[1]])
                if current == wanted[name]:
                    result.unchanged.append(name)
                else:
                    edits.append((span[0], span[1], wanted[name]))
                    result.updated.append(name)
            elif prune or name in seen:
                edits.append((*_with_separator(lines, span), ""))
                result.pruned.append(name)
            seen.add(name)
        elif name in wanted and name not in seen and name.startswith(SESSION_PREFIX):
            # The user's own [sso-session NAME] (aws configure sso wrote it): kept as it is when
            # it says what the TOML says; else left alone and named.
            ours = _settings(split_lines(wanted[name]), sections(split_lines(wanted[name]))[1])
            theirs = _settings(lines, section)
            differ = [k for k in ("sso_start_url", "sso_region") if theirs.get(k) != ours[k]]
            if differ and not force:
                result.conflicts.append(name)
                result.conflict_keys[name] = differ
            elif differ:
                end, _ = section_keys(lines, section)
                edits.append((section.start, end, wanted[name]))
                result.replaced.append(name)
            else:
                result.unchanged.append(name)
            seen.add(name)
        elif name in wanted and name not in seen:
            own = credential_settings(lines, section)
            if name in adopt and not own:
                end, settings = section_keys(lines, section)
                # region and output come from the TOML now (import copied them there).
                kept = [line for line in settings if not OWN_KEY_RE.match(line)]
                edits.append((section.start, end, wanted[name] + "".join(kept)))
                result.adopted.append(name)
            elif force:
                # Replace the hand-written header and settings; keep comments and blank lines
                # that follow them (they may belong to the next section).
                end, _ = section_keys(lines, section)
                edits.append((section.start, end, wanted[name]))
                result.replaced.append(name)
            else:
                result.conflicts.append(name)
                result.conflict_keys[name] = own
            seen.add(name)

    for start, end, replacement in sorted(edits, reverse=True):
        lines[start:end] = [replacement] if replacement else []
    appended = [wanted[name] for name in wanted if name not in seen]
    result.added = [name for name in wanted if name not in seen]
    new = "".join(lines)
    if appended:
        if new and not new.endswith(("\n", "\r")):
            new += newline
        for stanza in appended:
            # Exactly one blank line before each appended stanza: prune takes it away again.
            new += (newline if new else "") + stanza
    result.new = new
    return result


def _with_separator(lines: list[str], span: tuple[int, int]) -> tuple[int, int]:
    """A pruned stanza takes one blank line before it (the one init puts there) with it."""
    start, end = span
    if start > 0 and not lines[start - 1].strip():
        start -= 1
    return start, end


def profiles_served_by_helper(text: str) -> dict[str, str]:
    """Profiles whose credential_process runs this helper (managed or hand-written)."""
    lines = split_lines(text)
    out = {}
    for section in sections(lines):
        if section.profile is None:
            continue
        for line in lines[section.start + 1:section.end]:
            key, _, value = line.partition("=")
            if key.strip() == "credential_process" and (
                    "xaccount-credproc" in value or "xaccount_credproc" in value):
                out[section.profile] = value.strip()
    return out


def with_settings(text: str, profile: str, values: dict[str, str]) -> str:
    """`text` with `values` set in the profile's section, as the AWS CLI's `configure set` and
    `login` set them: an existing `key = value` line of the section replaced in place, a new
    one after the section's settings, a missing section appended; every other byte kept."""
    lines = split_lines(text)
    first_break = re.search(r"\r\n|\r|\n", text)
    newline = first_break.group() if first_break else "\n"
    section = next((s for s in sections(lines) if s.profile == profile), None)
    if section is None:
        header = "default" if profile == "default" else f"profile {profile}"
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        block = [f"[{header}]{newline}"] + [f"{k} = {v}{newline}" for k, v in values.items()]
        return "".join(lines + ([newline] if lines else []) + block)
    end, _ = section_keys(lines, section)
    rest = dict(values)
    for index in range(section.start + 1, end):
        key = re.split(r"[=:]", lines[index], maxsplit=1)[0].strip()
        if key in rest and not lines[index][:1].isspace():
            ending = lines[index][len(lines[index].rstrip("\r\n")):] or newline
            lines[index] = f"{key} = {rest.pop(key)}{ending}"
    if end > 0 and not lines[end - 1].endswith(("\n", "\r")):
        lines[end - 1] += newline
    lines[end:end] = [f"{k} = {v}{newline}" for k, v in rest.items()]
    return "".join(lines)


# ---------------------------------------------------------------------------------------------
# Reading and safe writing


def read(path: str) -> str:
    """The AWS config's text exactly as stored (line endings kept); "" if there is none."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {path}: {e}",
                        "check that it is a readable UTF-8 file") from None
