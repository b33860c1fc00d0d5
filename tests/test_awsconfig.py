"""The AWS config writer: golden files over a corpus of real-world-shaped configs, botocore's own
reading of every result, and properties that hold for any config hypothesis can think of.

Set UPDATE_GOLDEN=1 to rewrite tests/golden/expected/ after a deliberate change (then review it).
"""

import os
import re
from pathlib import Path

import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xaccount_credproc.config import awsconfig, rules
from xaccount_credproc.config import loader as config
from xaccount_credproc.errors import ConfigError

GOLDEN = Path(__file__).parent / "golden"
CORPUS = sorted(p.stem for p in GOLDEN.glob("*.ini"))
COMMAND = ["/opt/xcp/bin/xaccount-credproc", "credential-process"]
WANTED = {
    "prod-read-only": awsconfig.render("prod-read-only", [*COMMAND, "--profile", "prod-read-only"],
                                       "eu-west-1", None),
    "staging-admin": awsconfig.render("staging-admin", [*COMMAND, "--profile", "staging-admin"],
                                      "us-east-2", "json"),
}
# Our stanzas, with the one blank line init puts before each, found independently of the module.
MANAGED_RE = re.compile(
    r"(?m)(?:^\r?\n)?^\[profile [^\]\r\n]+\]\r?\n# managed by xaccount-credproc:[^\r\n]*\r?\n"
    r"(?:(?:credential_process|region|output) = [^\r\n]*\r?\n)*")


def unmanaged(text: str) -> str:
    return MANAGED_RE.sub("", text)


def with_final_newline(text: str) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    return text if not text or text.endswith(("\n", "\r")) else text + newline


def botocore_profiles(text: str, tmp_path: Path, monkeypatch) -> dict:
    path = tmp_path / f"config-{abs(hash(text))}"
    path.write_bytes(text.encode())
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return botocore.session.Session().full_config["profiles"]


def golden(name: str, operation: str, text: str) -> None:
    expected = GOLDEN / "expected" / f"{name}.{operation}.ini"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.parent.mkdir(exist_ok=True)
        expected.write_bytes(text.encode())
    assert expected.read_bytes().decode() == text, f"differs from {expected}"


def original(name: str) -> str:
    return (GOLDEN / f"{name}.ini").read_bytes().decode()


@pytest.mark.parametrize("name", CORPUS)
def test_init_appends_or_updates_and_keeps_every_other_byte(name, tmp_path, monkeypatch):
    text = original(name)
    result = awsconfig.plan(text, WANTED)
    golden(name, "init", result.new)
    assert unmanaged(result.new) == with_final_newline(unmanaged(text))

    before = botocore_profiles(text, tmp_path, monkeypatch)
    after = botocore_profiles(result.new, tmp_path, monkeypatch)
    for profile, settings_ in before.items():
        if profile not in WANTED or profile in result.conflicts:
            assert after[profile] == settings_, profile  # hand-written profiles untouched
    for profile in WANTED:
        if profile in result.conflicts:
            continue
        assert after[profile]["credential_process"] == (
            f"/opt/xcp/bin/xaccount-credproc credential-process --profile {profile}")
        assert "role_arn" not in after[profile] and "source_profile" not in after[profile]
    assert after["prod-read-only"]["region"] == "eu-west-1"
    assert after["staging-admin"].get("output") == (
        None if "staging-admin" in result.conflicts else "json")


@pytest.mark.parametrize("name", CORPUS)
def test_a_second_init_changes_nothing(name):
    first = awsconfig.plan(original(name), WANTED).new
    again = awsconfig.plan(first, WANTED)
    assert not again.changed
    assert again.added == again.updated == again.pruned == []


@pytest.mark.parametrize("name", CORPUS)
def test_prune_removes_only_managed_stanzas_that_left_the_toml(name, tmp_path, monkeypatch):
    first = awsconfig.plan(original(name), WANTED).new
    kept = {"prod-read-only": WANTED["prod-read-only"]}
    result = awsconfig.plan(first, kept, prune=True)
    golden(name, "prune", result.new)
    profiles = botocore_profiles(result.new, tmp_path, monkeypatch)
    conflicted = "staging-admin" in awsconfig.plan(original(name), WANTED).conflicts
    assert ("staging-admin" in profiles) == conflicted  # a hand-written one is never pruned
    assert "retired" not in profiles
    assert unmanaged(result.new) == with_final_newline(unmanaged(original(name)))
    # Without --prune nothing is removed.
    assert "staging-admin" in botocore_profiles(awsconfig.plan(first, kept).new, tmp_path,
                                                monkeypatch)


@pytest.mark.parametrize("name", CORPUS)
def test_everything_pruned_gives_back_the_original(name):
    text = original(name)
    first = awsconfig.plan(text, WANTED).new
    emptied = awsconfig.plan(first, {}, prune=True).new
    assert emptied == with_final_newline(unmanaged(text))


def test_hand_written_profile_is_reported_and_only_replaced_with_force(tmp_path, monkeypatch):
    text = original("hand_written_conflict")
    result = awsconfig.plan(text, WANTED)
    assert result.conflicts == ["staging-admin"]
    assert botocore_profiles(result.new, tmp_path, monkeypatch)["staging-admin"]["role_arn"] == (
        "arn:aws:iam::333333333333:role/Admin")
    forced = awsconfig.plan(text, WANTED, force=True)
    golden("hand_written_conflict", "force", forced.new)
    assert forced.replaced == ["staging-admin"]
    profiles = botocore_profiles(forced.new, tmp_path, monkeypatch)
    assert "role_arn" not in profiles["staging-admin"]
    assert profiles["other"] == {"region": "eu-west-1"}
    assert "# keep me" in forced.new  # the comment after the replaced settings stays


def test_crlf_files_get_crlf_stanzas():
    result = awsconfig.plan(original("crlf"), WANTED).new
    assert "\n" not in result.replace("\r\n", "")


def test_user_additions_inside_a_managed_stanza_survive_an_update():
    text = original("already_managed")
    result = awsconfig.plan(text, WANTED).new
    assert "cli_pager = less" in result
    assert "/old/path" not in result.split("[profile retired]")[0]


@pytest.mark.parametrize(("word", "quoted"), [
    ("/usr/local/bin/xaccount-credproc", "/usr/local/bin/xaccount-credproc"),
    ("/home/al ice/.local/bin/xaccount-credproc", '/"home/al ice/.local/bin/xaccount-credproc"'),
    (r"C:\Program Files\Python\Scripts\xaccount-credproc.exe",
     r'C":\Program Files\Python\Scripts\xaccount-credproc.exe"'),
    ("/opt/tools (x86)/bin/x", '/"opt/tools (x86)/bin/x"'),
    ("/home/jürgen/~tools/x", '/"home/jürgen/~tools/x"'),
])
def test_command_words_read_the_same_under_shlex_sh_windows_and_old_go_ini(word, quoted):
    import shlex
    import subprocess

    from botocore.compat import _windows_shell_split

    assert awsconfig.quote_word(word) == quoted
    line = f"{quoted} credential-process --profile p"
    assert not line.startswith('"') and awsconfig.misread_line(line) is None
    assert shlex.split(line) == [word, "credential-process", "--profile", "p"]
    printed = subprocess.run(["sh", "-c", f"printf '%s\\n' {line}"], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    assert printed == [word, "credential-process", "--profile", "p"]
    assert _windows_shell_split(line) == [word, "credential-process", "--profile", "p"]


@pytest.mark.parametrize("word", ["/home/a#b/x", "/opt/x;y/bin", "C:\\a;b\\x.exe"])
def test_paths_with_comment_characters_are_refused(word):
    with pytest.raises(ConfigError, match="contains # or ;"):
        awsconfig.quote_word(word)


@pytest.mark.parametrize("word", ['/a"b', "/a$HOME", "/a`x`", "/a%PATH%", "/a'b", "/a!b",
                                  "/a\nb", "C:\\dir\\"])
def test_paths_that_cannot_be_quoted_safely_are_refused(word):
    with pytest.raises(ConfigError, match="cannot be written safely"):
        awsconfig.quote_word(word)


# -- properties ------------------------------------------------------------------------------

SAFE_NAME = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,20}", fullmatch=True)
LINE = st.one_of(
    st.just(""), st.just("   "),
    st.builds(lambda c, t: f"{c} {t}", st.sampled_from(["#", ";"]),
              st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=20)),
    st.builds(lambda k, s, v: f"{k}{s}={s}{v}", st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
              st.sampled_from(["", " ", "\t"]),
              st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=20)),
)
HEADER = st.one_of(
    st.builds(lambda n: f"[profile {n}]", SAFE_NAME),
    st.builds(lambda n: f"[profile  {n} ]", SAFE_NAME),
    st.builds(lambda n: f"[sso-session {n}]", SAFE_NAME),
    st.builds(lambda n: f"[services {n}]", SAFE_NAME),
    st.just("[default]"), st.builds(lambda n: f"[{n}]", SAFE_NAME),
)


@st.composite
def aws_configs(draw):
    lines = draw(st.lists(LINE.filter(lambda x: not x.startswith(" ") or not x.strip()),
                          max_size=3))
    lines = [line for line in lines if not line.strip() or line.lstrip()[0] in "#;"]
    for _ in range(draw(st.integers(0, 5))):
        lines.append(draw(HEADER))
        lines += draw(st.lists(LINE, max_size=4))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines)
    if text and draw(st.booleans()):
        text += newline
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=aws_configs(), names=st.lists(SAFE_NAME, min_size=1, max_size=4, unique=True))
def test_init_never_changes_an_unmanaged_byte(text, names):
    wanted = {n: awsconfig.render(n, [*COMMAND, "--profile", n], "eu-west-1", None)
              for n in names}
    result = awsconfig.plan(text, wanted)
    # The one byte init may add outside its stanzas: a final newline before appending.
    expected = with_final_newline(text) if result.added else text
    assert unmanaged(result.new) == expected
    assert not awsconfig.plan(result.new, wanted).changed
    assert awsconfig.plan(result.new, {}, prune=True).new == expected
    # Every wanted profile is either ours now or reported as a hand-written conflict.
    assert sorted(result.added + result.conflicts) == sorted(names)


UNSAFE = st.one_of(
    st.builds(lambda a, c, b: a + c + b, SAFE_NAME, st.sampled_from(
        ["\n", "]", "[", "=", "\x00", " ", "\t", "\r", '"', "'", "#", ";", "/"]), SAFE_NAME),
    st.builds(lambda a: " " + a, SAFE_NAME), st.builds(lambda a: a + " ", SAFE_NAME),
    st.builds(lambda a: "-" + a, SAFE_NAME), st.just(""),
)


@settings(max_examples=200, deadline=None)
@given(name=UNSAFE)
def test_names_that_cannot_be_written_safely_are_rejected(name, tmp_path_factory):
    with pytest.raises(ConfigError, match="is not allowed"):
        rules.check_profile_name(name)
    directory = tmp_path_factory.mktemp("unsafe")
    path = directory / "config.toml"
    escaped = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace(
        "\r", "\\r").replace("\t", "\\t").replace("\x00", "\\u0000")
    path.write_text(f'[profiles."{escaped}"]\nrole_arn = "arn:aws:iam::222222222222:role/R"\n')
    with pytest.raises(ConfigError):
        config.load(path)
