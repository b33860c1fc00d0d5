"""The vault: stored sources' long-term keys in an encrypted file where no desktop keyring answers
(no session bus, as over SSH, on WSL2, servers and CI), unlocked once per boot through the real
kernel keyring, with the real `aws` CLI, an IAM user made in moto's IAM, and kills at random
moments of `vault passwd` and `source add`."""

import base64
import concurrent.futures
import functools
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.harness.checks import failure_line
from tests.harness.iam_users import ADMIN, CREDENTIALS, iam_user
from tests.harness.kernel_keys import MadeHere, of_world
from tests.harness.mfa import counting_mfa, times_asked
from tests.harness.terminal import Terminal
from tests.harness.world import DEFAULT_TOML, EXTERNAL_ID, EXTRA_SECRETS, HELPER, ROLE_ARN, World

PASSPHRASE = "correct horse battery vault"
NEW_PASSPHRASE = "another horse, another vault"
# passphrase_process: counts its runs and prints the passphrase from a file (never argv).
COUNTING = "import sys\nopen(sys.argv[1], 'a').write('ran\\n')\nprint(open(sys.argv[2]).read())\n"
EXTRA_SECRETS += [PASSPHRASE, NEW_PASSPHRASE]


@pytest.fixture
def headless(tmp_path, sts):
    """Alice's IAM user with no session bus: the kernel keyring is the only OS store; a
    passphrase_process that counts its runs; her keys in ~/.aws/credentials. `world.made`: the
    kernel entries her commands made (the keyring is shared with the tests running beside)."""
    world = World(tmp_path, sts, secret_service=None)
    assert not any(k.startswith("DBUS") for k in world.env)
    key, secret, arn = iam_user(world)
    world.env["AWS_ENDPOINT_URL_IAM"] = world.sts.url
    world.sts.add_role(ROLE_ARN, external_id=EXTERNAL_ID, mfa_required=True)
    world.use_listed_codes()
    world.aws_credentials.write_bytes(CREDENTIALS.format(key=key, secret=secret).encode())
    world.write_toml(DEFAULT_TOML)
    world.aws_config.write_text("")
    counting_mfa(world)
    script, counter, phrase = world.root / "pass.py", world.root / "pass-ran", world.root / "pp"
    script.write_text(COUNTING)
    phrase.write_text(PASSPHRASE + "\n")
    world.write_toml(world.toml.read_text() + f'\n[vault]\npassphrase_process = '
                                              f'"{sys.executable} {script} {counter} {phrase}"\n')
    world.vault = world.home / ".local" / "share" / "xaccount-credproc" / "vault.json"
    world.alice = {"key": key, "secret": secret, "arn": arn, "ran": counter, "phrase": phrase}
    world.made = MadeHere(of_world(world, lambda: json.loads(world.vault.read_text())["id"]))
    return world


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def reboot(world) -> None:
    """What a reboot does to this tool: every kernel-keyring entry it made is gone (this
    world's: its credentials, its vault's key; a test that keeps a stored source's keys in the
    kernel keyring has it to itself and sees those go too)."""
    world.made.remove()
    assert world.made.ours() == []


def holding(world, secret: str) -> list:
    return [p for p in world.home.rglob("*") if p.is_file() and not p.is_symlink()
            and secret.encode() in p.read_bytes()]


def imported(world) -> None:
    ok(world.run("vault", "init"))
    result = ok(world.run("source", "import", "dev", "--region", "eu-west-1"))
    assert f"into the vault {world.vault} as source 'dev'" in result.stdout
    assert world.alice["secret"] not in result.stdout + result.stderr
    ok(world.run("init"))


# -- the way in, and a reboot --------------------------------------------------------------------


def test_import_then_a_reboot_then_8_parallel_commands_ask_for_the_passphrase_once(headless):
    world = headless
    imported(world)
    assert holding(world, world.alice["secret"]) == []  # no file under HOME holds it
    assert oct(world.vault.stat().st_mode & 0o777) == "0o600"
    assert oct(world.vault.parent.stat().st_mode & 0o777) == "0o700"
    status = ok(world.run("vault", "status")).stdout
    assert "state: unlocked until" in status and "source/dev" in status
    assert times_asked(world.alice["ran"]) == 1  # vault init

    reboot(world)
    assert "state: locked" in ok(world.run("vault", "status")).stdout
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        arns = list(pool.map(lambda _: world.identity(), range(8)))
    assert set(arns) == {"arn:aws:sts::222222222222:assumed-role/DevReadOnly-CrossAccount/alice"}
    assert times_asked(world.alice["ran"]) == 2  # one passphrase for the eight
    (session,) = world.sts.calls_of("GetSessionToken")[-1:]
    assert session.caller == world.alice["key"]  # signed with the imported key
    assert len(world.sts.calls_of("AssumeRole")) == 1

    world.run("clear", "--all")
    world.identity()  # the keys are needed again: the vault is still unlocked
    assert world.identity("dev") == world.alice["arn"]
    assert times_asked(world.alice["ran"]) == 2
    # The derived key lives in the kernel keyring with a timeout, never in a file.
    (entry,) = [k for k in world.made.ours() if "vault-key/" in k.description]
    assert entry.timeout not in ("perm", "expd")
    vault = json.loads(world.vault.read_text())
    derived = derive(PASSPHRASE, vault["kdf"])
    EXTRA_SECRETS.append(base64.b64encode(derived).decode())
    assert holding(world, base64.b64encode(derived).decode()) == []
    assert not [p for p in world.home.rglob("*") if p.is_file() and derived in p.read_bytes()]


def derive(passphrase: str, kdf: dict) -> bytes:
    """The vault's key from `passphrase`, as the vault derives it (Argon2id, half a second):
    worked out once for each passphrase and salt (the salt changes when a passwd completes)."""
    return _derived(passphrase, kdf["salt"], kdf["iterations"], kdf["lanes"], kdf["memory_kib"])


@functools.lru_cache(maxsize=64)
def _derived(passphrase: str, salt: str, iterations: int, lanes: int, memory_kib: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    return Argon2id(salt=base64.b64decode(salt), length=32, iterations=iterations, lanes=lanes,
                    memory_cost=memory_kib).derive(passphrase.encode())


def test_without_a_vault_import_refuses_unless_volatile_and_init_moves_the_key_in(
        headless, kernel_keys_made_here):
    world = headless
    world.made = kernel_keys_made_here  # source/dev in the kernel keyring: nobody else's now
    before = world.aws_credentials.read_bytes()
    refused = world.run("source", "import", "dev", "--region", "eu-west-1")
    failure_line(refused, "vault init", "--volatile", code=1)
    assert world.aws_credentials.read_bytes() == before  # the only copy stays
    assert "[sources.dev]" not in world.toml.read_text()

    ok(world.run("source", "import", "dev", "--region", "eu-west-1", "--volatile"))
    assert 'keyring_backend = "kernel"' in world.toml.read_text()
    ok(world.run("init"))
    world.identity()
    # From "kernel" to "auto": the next unlock moves it into the vault, out of the kernel.
    world.write_toml(world.toml.read_text().replace('keyring_backend = "kernel"\n', ""))
    init = ok(world.run("vault", "init"))
    assert "moved 1 stored key(s) from the kernel keyring into the vault" in init.stderr
    assert "source/dev" in ok(world.run("vault", "status")).stdout
    assert not [k for k in world.made.ours() if k.description.endswith(":source/dev")]
    reboot(world)
    assert world.identity("dev") == world.alice["arn"]


def test_a_wrong_passphrase_is_asked_again_at_a_terminal_three_times_at_most(headless):
    world = headless
    imported(world)
    reboot(world)
    text = world.toml.read_text()  # no passphrase_process: a person types it
    world.write_toml("\n".join(line for line in text.splitlines()
                                if not line.startswith("passphrase_process")) + "\n")
    wrong = ok(world.run("vault", "status"))  # status never asks
    assert "locked" in wrong.stdout
    terminal = Terminal([str(HELPER), "source", "list"], world.env)
    terminal.expect("Passphrase of the xaccount-credproc vault: ")
    terminal.type("nope nope nope\n")
    terminal.expect("Wrong passphrase. Passphrase of the xaccount-credproc vault: ")
    terminal.type("still wrong!\n")
    terminal.expect("Wrong passphrase. Passphrase of the xaccount-credproc vault: ")
    terminal.type(PASSPHRASE + "\n")
    done = terminal.finish()
    assert done.returncode == 0, done.stderr
    assert "alice" in done.stdout
    assert PASSPHRASE.encode() not in terminal.screen  # echo was off

    reboot(world)
    terminal = Terminal([str(HELPER), "source", "list"], world.env)
    for _ in range(3):
        terminal.expect("Passphrase of the xaccount-credproc vault: ")
        terminal.type("wrong wrong wrong\n")
    done = terminal.finish()
    assert done.returncode == 2 and "does not open the vault" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1


def test_a_wrong_passphrase_from_passphrase_process_fails_at_once(headless):
    world = headless
    imported(world)
    reboot(world)
    world.alice["phrase"].write_text("not the passphrase\n")
    result = world.run("credential-process", "--profile", "prod-read-only")
    failure_line(result, "does not open the vault", "passphrase_process", code=2)
    assert times_asked(world.alice["ran"]) == 2


# -- a damaged file: one line, exit 2, nothing changed ---------------------------------------------


def _flip_entry(text: str) -> str:
    data = json.loads(text)
    sealed = bytearray(base64.b64decode(data["entries"]["source/dev"]))
    sealed[20] ^= 1
    data["entries"]["source/dev"] = base64.b64encode(bytes(sealed)).decode()
    return json.dumps(data)


def _swap(text: str) -> str:
    data = json.loads(text)
    data["entries"]["source/dev"], data["entries"]["source/ops"] = (
        data["entries"]["source/ops"], data["entries"]["source/dev"])
    return json.dumps(data)


def _newer(text: str) -> str:
    data = json.loads(text)
    data["version"] = 2
    return json.dumps(data)


@pytest.mark.parametrize("damage, words", [
    (_flip_entry, "fails its integrity check"),
    (lambda text: text[:len(text) // 2], "is damaged (not valid JSON"),
    (_swap, "fails its integrity check"),
    (_newer, "written by a newer xaccount-credproc"),
    (lambda text: text.replace('"salt": "', '"salt": "!'), "the salt is not base64"),
], ids=["byte-flipped", "truncated", "entries-swapped", "newer-version", "bad-base64"])
def test_a_damaged_vault_is_one_line_and_changes_nothing(headless, damage, words):
    world = headless
    imported(world)
    # A second, genuine entry, for the swap: sealed with the real key.
    from xaccount_credproc.backends import vault as vaults

    vault = vaults.load(str(world.vault))
    vault.put(derive(PASSPHRASE, vault.header["kdf"]), "source/ops", "another value")
    vault.save()
    world.vault.write_text(damage(world.vault.read_text()))
    before = hashlib.sha256(world.vault.read_bytes()).hexdigest()
    world.run("clear", "--all")
    for args in (("credential-process", "--profile", "prod-read-only"), ("source", "list"),
                 ("vault", "passwd")):
        result = world.run(*args, input=NEW_PASSPHRASE + "\n", stdin=None)
        failure_line(result, str(world.vault), words, code=2)
        assert hashlib.sha256(world.vault.read_bytes()).hexdigest() == before
    assert vaults.VERSION == 1


# -- kills at random moments ---------------------------------------------------------------------


def _opens_with(world, passphrase: str) -> dict | None:
    """The vault's entries (name -> value) opened with `passphrase`, or None."""
    from xaccount_credproc.backends import vault as vaults

    vault = vaults.load(str(world.vault))
    key = derive(passphrase, vault.header["kdf"])
    try:
        vault.verify(key)
    except vaults.WrongKey:
        return None
    return {name: vault.get(key, name) for name in vault.entries}


def _killed_at_random(world, argv, input_text: str, moments: int, seed: int, after=None):
    rng = random.Random(seed)
    for _ in range(moments):
        process = subprocess.Popen(argv, env=world.env, stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True)
        process.stdin.write(input_text.encode())
        process.stdin.close()
        time.sleep(rng.uniform(0.05, 1.6))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if after is not None:
            after()


def test_passwd_killed_at_20_random_moments_loses_nothing(headless):
    world = headless
    imported(world)
    expected = _opens_with(world, PASSPHRASE)
    assert set(expected) == {"source/dev"}
    phrases = [PASSPHRASE, NEW_PASSPHRASE]

    def still_whole():
        opened = [o for o in (_opens_with(world, p) for p in phrases) if o is not None]
        assert opened == [expected], "the vault lost a key or opens with neither passphrase"
        assert not list(world.vault.parent.glob("*.tmp"))
        # The next passwd must know the current passphrase: whichever opens it.
        current = next(p for p in phrases if _opens_with(world, p) is not None)
        world.alice["phrase"].write_text(current + "\n")
        reboot(world)

    _killed_at_random(world, [str(HELPER), "vault", "passwd"], NEW_PASSPHRASE + "\n", 20, 1,
                      still_whole)
    phrases.reverse()
    assert world.identity("dev") == world.alice["arn"]


def test_source_add_killed_at_20_random_moments_loses_nothing(headless):
    world = headless
    imported(world)
    expected = _opens_with(world, PASSPHRASE)
    key, secret, _ = iam_user_second(world)
    _killed_at_random(world, [str(HELPER), "source", "add", "ops", "--region", "eu-west-1"],
                      f"{key}\n{secret}\n", 20, 2)
    opened = _opens_with(world, PASSPHRASE)
    assert opened is not None and opened["source/dev"] == expected["source/dev"]
    assert not list(world.vault.parent.glob("*.tmp"))
    ok(world.run("source", "add", "ops", "--region", "eu-west-1",
                 input=f"{key}\n{secret}\n", stdin=None))
    reboot(world)
    assert world.identity("dev") == world.alice["arn"]
    listed = ok(world.run("source", "list")).stdout
    assert "ops" in listed and "dev" in listed


def iam_user_second(world):
    import boto3


    client = boto3.client("iam", region_name="us-east-1", endpoint_url=world.sts.url,
                          aws_access_key_id=ADMIN, aws_secret_access_key="x" * 40)
    arn = client.create_user(UserName="ops-user")["User"]["Arn"]
    made = client.create_access_key(UserName="ops-user")["AccessKey"]
    EXTRA_SECRETS.append(made["SecretAccessKey"])
    return made["AccessKeyId"], made["SecretAccessKey"], arn


def test_a_vault_that_cannot_be_written_is_one_line_and_keeps_every_key(headless, tmp_path):
    world = headless
    imported(world)
    before = world.vault.read_bytes()
    key, secret, _ = iam_user_second(world)
    frozen = subprocess.run(["chattr", "+i", str(world.vault.parent)], capture_output=True,
                            text=True, check=False)
    if frozen.returncode != 0:
        from tests.harness import unavailable

        unavailable(f"chattr +i is not possible here: {frozen.stderr.strip()}")
    try:
        started = time.monotonic()
        result = world.run("source", "add", "ops", "--region", "eu-west-1",
                           input=f"{key}\n{secret}\n", stdin=None)
        failure_line(result, "cannot store the keys", str(world.vault), "nothing was changed", code=2)
        assert time.monotonic() - started < 30  # refused, not waited out
        passwd = world.run("vault", "passwd", input=NEW_PASSPHRASE + "\n", stdin=None)
        failure_line(passwd, "cannot write the vault file", code=2)
    finally:
        subprocess.run(["chattr", "-i", str(world.vault.parent)], check=False)
    assert world.vault.read_bytes() == before
    assert "[sources.ops]" not in world.toml.read_text()
    assert world.identity("dev") == world.alice["arn"]


# -- commands -------------------------------------------------------------------------------------


def test_lock_reset_doctor_and_the_passphrase_reaches_no_child(headless):
    world = headless
    imported(world)
    ok(world.run("vault", "lock"))
    assert "state: locked" in ok(world.run("vault", "status")).stdout
    world.run("clear", "--all")
    world.identity()
    assert times_asked(world.alice["ran"]) == 2  # locked: asked again

    doctor = world.run("doctor").stdout
    assert f"vault {world.vault}: unlocked" in doctor and "1 entries" in doctor

    # CI's variable: read by the helper, handed to no program it runs.
    env = {"XACCOUNT_CREDPROC_VAULT_PASSPHRASE": PASSPHRASE}
    probe = world.run("exec", "--profile", "prod-read-only", "--", sys.executable, "-c",
                      "import os; print('XACCOUNT_CREDPROC_VAULT_PASSPHRASE' in os.environ)",
                      env=env)
    assert ok(probe).stdout.strip() == "False"

    refused = world.run("vault", "reset")  # no terminal, no --yes
    failure_line(refused, "needs a confirmation", code=2)
    assert world.vault.exists()
    ok(world.run("vault", "reset", "--yes"))
    assert not world.vault.exists()
    again = world.run("vault", "init", input=f"{PASSPHRASE}\n", stdin=None)
    ok(again)
    short = world.run("vault", "passwd", input="short\n", stdin=None)
    failure_line(short, "fewer than 8", code=2)
