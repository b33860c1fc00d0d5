"""`init`: bring the AWS config's managed stanzas in line with the TOML config, safely.

The AWS config is read, planned and written under a lock, so concurrent runs serialise; the write
is atomic (see files.replace_text), so a kill at any point leaves the old or the new file.
"""

import os
import shutil
import sys
from contextlib import contextmanager

from .. import files
from ..errors import ConfigError, UserError
from . import aws_config_path, awsconfig, loader, model, user_config_dir

LOCK_TIMEOUT = 60


def helper_command(config_path: str, command_name: str = "credential-process") -> list[str]:
    """The absolute command that runs this installed helper's `command_name` (credential-process
    for the AWS config, eks-token for a kubeconfig), plus --config when the config is not at
    its default place (the AWS CLI and kubectl will not have our environment).

    The fast start: this interpreter without `site`, running the package's __main__.py as a
    script (see there); `site` costs about 4 ms of every cache hit and a hit does not need it. The
    interpreter is named as the venv names it, not resolved: a venv link survives upgrades."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # config/..
    main = os.path.join(package, "__main__.py")
    if sys.executable and os.access(sys.executable, os.X_OK) and os.path.isfile(main):
        command = [sys.executable, "-S", main]
    else:
        command = _console_script()
    command.append(command_name)
    default = os.path.join(user_config_dir(), "config.toml")
    if os.path.abspath(config_path) != os.path.abspath(default):
        command += ["--config", os.path.abspath(config_path)]
    return command


def _console_script() -> list[str]:
    argv0 = sys.argv[0]
    if os.path.basename(argv0).startswith("xaccount-credproc") and os.access(argv0, os.X_OK):
        return [os.path.abspath(argv0)]
    found = shutil.which("xaccount-credproc")
    if found:
        return [os.path.abspath(found)]
    return [sys.executable, "-m", "xaccount_credproc"]


def wanted_stanzas(loaded: model.Config, command: list[str]) -> dict[str, str]:
    out = {}
    for name in loaded.names():
        profile = loaded.resolve(name)
        out[name] = awsconfig.render(name, [*command, "--profile", name], profile.region,
                                     profile.output)
    for name, table in sorted(loaded.sso_sessions.items()):
        out[awsconfig.SESSION_PREFIX + name] = awsconfig.render_session(
            name, table["sso_start_url"], table["sso_region"],
            table.get("sso_registration_scopes", []))
    for name in sorted(loaded.sources):
        source = model.source(loaded, name)
        if source.aws_profile:  # the IAM user itself, through its own session
            out[name] = awsconfig.render(name, [*command, "--source", name], source.region,
                                         source.output)
    return out


def adoptable(loaded: model.Config) -> set[str]:
    """Names whose hand-written [profile NAME] init may take over when it holds no credential
    settings: stored sources with aws_profile = true (`aws configure` wrote region and output
    there, `source import` took the keys)."""
    return {name for name in loaded.sources if model.source(loaded, name).aws_profile}


@contextmanager
def locked(path: str, what: str):
    """An exclusive lock for editing `path` (lock file in our cache dir, not beside it)."""
    from filelock import FileLock, Timeout

    from .._digest import digest

    try:
        directory, _ = files.locks_dir()
    except files.UntrustedCacheDir as e:
        raise UserError(f"cannot lock {what} for editing: {e.what}", e.fix) from None
    # Keyed by the real file: two links to one config share its lock.
    lock_path = os.path.join(directory, f"edit-{digest(os.path.realpath(path))}.lock")
    lock = FileLock(lock_path, timeout=LOCK_TIMEOUT, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise UserError(f"another xaccount-credproc has been editing {what} for "
                        f"{LOCK_TIMEOUT}s", "wait for it to finish, then try again") from None
    try:
        yield
    finally:
        lock.release()


class BrokenProfiles(ConfigError):
    """Profiles that do not validate: init writes nothing until each is fixed. `errors` holds
    one ConfigError per profile (file, line, key), so all can be listed at once."""

    def __init__(self, broken: dict):
        self.errors = [broken[name] for name in sorted(broken)]
        names = ", ".join(sorted(broken))
        super().__init__(f"{len(broken)} profile{'s' if len(broken) != 1 else ''} of the TOML "
                         f"config cannot be used ({names})", "fix each as said above, then run "
                         "'xaccount-credproc init' again; the other profiles keep working")


class InitResult:
    def __init__(self, path: str, result: awsconfig.Plan, stale: list[str]):
        self.path = path
        self.plan = result
        self.stale = stale  # managed profiles no longer in the TOML, kept (no --prune)


def init(config_path: str, dry_run: bool = False, force: bool = False,
         prune: bool = False) -> InitResult:
    loaded = loader.load(config_path, lenient=True)
    if loaded.broken:
        raise BrokenProfiles(loaded.broken)
    command = helper_command(config_path)
    target = aws_config_path()
    with locked(target, "the AWS config"):
        text = awsconfig.read(target)
        awsconfig.refuse_duplicates(target, text)
        _refuse_loops(loaded, text)
        result = awsconfig.plan(text, wanted_stanzas(loaded, command), force=force, prune=prune,
                                adopt=adoptable(loaded))
        stale = [] if prune else _stale_managed(result.new, loaded)
        if result.changed and not dry_run:
            try:
                files.replace_text(target, result.new)
            except OSError as e:
                raise UserError(f"cannot write {target}: {e.strerror}",
                                "check the permissions of the file and its directory") from None
    return InitResult(target, result, stale)


def set_profile_settings(profile: str, values: dict[str, str]) -> bool:
    """Set `values` in [profile NAME] of the AWS config (as `login` records its session), every
    other byte kept, atomically and under init's lock; whether the file changed."""
    target = aws_config_path()
    with locked(target, "the AWS config"):
        text = awsconfig.read(target)
        awsconfig.refuse_duplicates(target, text, then="the command")
        new = awsconfig.with_settings(text, profile, values)
        if new == text:
            return False
        try:
            files.replace_text(target, new)
        except OSError as e:
            raise UserError(f"cannot write {target}: {e.strerror}",
                            "check the permissions of the file and its directory") from None
    return True


def _refuse_loops(loaded: model.Config, aws_text: str) -> None:
    served = awsconfig.profiles_served_by_helper(aws_text)
    for name in loaded.names():
        source = loaded.resolve(name).source_profile
        if source in served and source not in loaded.profiles and source not in loaded.sources \
                and source not in loaded.logins:
            raise ConfigError(
                f"profile '{name}': its source_profile '{source}' is an AWS profile served by "
                "xaccount-credproc, which would loop",
                "set source_profile to a profile with its own credentials (keys, SSO, ...)")


def _stale_managed(text: str, loaded: model.Config) -> list[str]:
    lines = awsconfig.split_lines(text)
    return [s.profile for s in awsconfig.sections(lines)
            if s.profile and awsconfig.managed_span(lines, s) and s.profile not in loaded.profiles
            and not (s.profile in loaded.sources and model.source(loaded, s.profile).aws_profile)]


# -- what init did, in words (for the command layer to print) --------------------------------


def summary(result) -> str:
    """One line: what init changed in the AWS config, or that nothing was written."""
    plan = result.plan
    done = [f"{label} {len(names)} ({', '.join(names)})" for label, names in (
        ("added", plan.added), ("updated", plan.updated), ("replaced", plan.replaced),
        ("took over", plan.adopted), ("removed", plan.pruned)) if names]
    if done:
        return f"{result.path}: " + "; ".join(done) + f"; {len(plan.unchanged)} unchanged"
    return (f"{result.path} is up to date ({len(plan.unchanged)} managed profiles); "
            "nothing written")


def warnings(result, prog: str) -> tuple[list[str], bool]:
    """(warning lines, whether a hand-written profile was left alone: a conflict)."""
    said = []
    if result.stale:
        said.append(f"managed profiles no longer in the TOML config: {', '.join(result.stale)}; "
                    f"remove them with '{prog} init --prune'")
    said += [_conflict(result, name, prog) for name in result.plan.conflicts]
    return said, bool(result.plan.conflicts)


def _conflict(result, name: str, prog: str) -> str:
    keys = result.plan.conflict_keys.get(name)
    if name.startswith(awsconfig.SESSION_PREFIX):
        return (f"the hand-written [{name}] in {result.path} has another "
                f"{' and '.join(keys or [])} than the TOML config's [sso-sessions."
                f"{name[len(awsconfig.SESSION_PREFIX):]}], so it was left alone; make them the "
                f"same, or replace it with '{prog} init --force'")
    if not keys:
        return (f"hand-written profile '{name}' in {result.path} has the name of a TOML profile "
                f"and was left alone; rename one of them, or replace it with '{prog} init "
                "--force'")
    return (f"hand-written profile '{name}' in {result.path} has the name of a TOML profile and "
            f"gets credentials its own way ({', '.join(keys)}), so it was left alone; remove "
            f"{'that key' if len(keys) == 1 else 'those keys'} from it, rename one of them, or "
            f"replace it with '{prog} init --force'")
