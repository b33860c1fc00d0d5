"""Credentials per profile for the server: kept warm in memory, so a warm request costs no STS
call, no process and no keyring read; fetched through `credentials.provider` (the same cache,
locks and MFA session as `credential-process`, so N server clients and M `aws` commands make one
STS call and see one MFA prompt); renewed in the background from REFRESH_AT left when no person
is needed.

A request never waits long: a fetch runs in a thread of its own (one per profile at a time), and
a request that finds one running waits at most REQUEST_WAIT, then gets a 503 whose JSON says why.
When MFA is needed the out-of-band prompt (mfa_process, a dialog) starts once and every request
meanwhile gets `MfaRequired` at once; the terminal is never used (the answer says to run
`credential-process` in one, which fills the shared cache).
"""

import os
import threading
import time

from .. import debug
from ..credentials.sign_in import LoginNeeded
from ..errors import AwsError, ConfigError, MfaError, ProfileNotFound, UserError
from . import REFRESH_AT, SERVE_MIN

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from ..config import Profile
    from ..config.model import Config
    from ..credentials.sign_in import SignInSession
    from ..prompt.mfa import MfaCodeSource

# How long a failed fetch's answer is given again before a new fetch: SDKs retry 3 times within
# ~3.5 s, and a cancelled dialog must not reopen at once for each retry.
FAILURE_HOLD = 5.0
# Profiles asked for within this long are renewed in the background.
ACTIVE_FOR = 12 * 3600
# A failed background renewal is tried again after this long.
RETRY_BACKGROUND = 60.0


class HumanNeeded(MfaError):
    """A background renewal would need an MFA code: left for a client's request."""


class Answer:
    """What a request gets: an HTTP status and a JSON-able body."""

    __slots__ = ("status", "body", "profile")

    def __init__(self, status: int, body: dict, profile: str | None = None):
        self.status = status
        self.body = body
        self.profile = profile


def error(status: int, code: str, message: str, profile: str | None = None) -> Answer:
    return Answer(status, {"code": code, "message": message}, profile)


class Job:
    """One fetch of one profile's credentials, in a thread."""

    def __init__(self, background: bool):
        self.background = background
        self.waiting_for_mfa = False
        self.waiting_for_login: SignInSession | None = None  # whose browser login it waits for
        self.done = False
        self._listeners: list = []
        self._lock = threading.Lock()

    def on_change(self, callback) -> None:
        """`callback()` once, from any thread, when the job asks for MFA or ends."""
        with self._lock:
            if not self.done:
                self._listeners.append(callback)
                return
        callback()

    def changed(self) -> None:
        with self._lock:
            listeners, self._listeners = self._listeners, []
        for callback in listeners:
            callback()


class Slot:
    """One profile's state in the server."""

    def __init__(self, profile):
        self.profile = profile
        self.credentials = None
        self.job: Job | None = None
        self.failure: tuple[float, Answer] | None = None
        self.asked = 0.0
        self.background_failed = 0.0
        self.human_needed_for = None  # the expiration whose renewal needs a person
        self.short_sessions = False  # STS gives this profile less than REFRESH_AT (policy)


class JobMfa:
    """MFA codes for a job: a background job declines; a client's job asks out of band."""

    def __init__(self, job: Job, profile: "Profile"):
        self.job = job
        self.profile = profile
        self._source: MfaCodeSource | None = None

    @property
    def interactive(self) -> bool:
        return self._inner().interactive

    @property
    def asked(self) -> int:
        return self._inner().asked

    def _inner(self) -> "MfaCodeSource":
        if self._source is None:
            from ..prompt.mfa import MfaCodeSource

            p = self.profile
            assert p.mfa_serial is not None  # asked only for a profile with MFA
            self._source = MfaCodeSource(p.mfa_serial, p.name, p.mfa_process,
                                         prompt=p.mfa_prompt, role_arn=p.role_arn,
                                         terminal=False)
        return self._source

    def code(self, rejected: bool = False, avoid: str | None = None) -> str:
        if self.job.background:
            raise HumanNeeded(f"profile '{self.profile.name}' needs an MFA code")
        self.job.waiting_for_mfa = True
        self.job.changed()
        try:
            return self._inner().code(rejected=rejected, avoid=avoid)
        finally:
            self.job.waiting_for_mfa = False


class JobSignIn:
    """A login for a job whose login cannot be renewed (an IAM Identity Center session, an AWS
    Sign-In login): a background job declines; a client's job opens the browser login once,
    where a browser can be opened, while requests are answered LoginRequired."""

    def __init__(self, job: Job, log):
        self.job, self.log = job, log

    def __call__(self, session: "SignInSession", why: LoginNeeded) -> dict:
        from ..web.opener import browser_available

        if self.job.background:
            raise HumanNeeded(f"{session.label} needs a login")
        if not browser_available():
            raise LoginNeeded(f"{why.what}, and the server has no browser to open",
                              f"run {session.login_command}, then retry", session.kind)
        self.job.waiting_for_login = session
        self.job.changed()
        try:
            # The URL is for a person, not the log.
            return session.browser_login(lambda line: self.log(line.split(": http")[0]),
                                         session.signed_in_elsewhere())
        finally:
            self.job.waiting_for_login = None


def in_a_terminal(name: str) -> str:
    return (f"or run 'xaccount-credproc credential-process --profile {name}' in a terminal, then "
            "retry")


class Supply:
    def __init__(self, config_path: str, log):
        """`log(line)`: one line to the server's log."""
        from ..credentials.resolver import RefreshPolicy

        self.config_path = config_path
        self.log = log
        # The credential-process path's policy with the server's rules as its parameters.
        self.policy = RefreshPolicy(min_left=SERVE_MIN, renew_at=REFRESH_AT)
        self._lock = threading.Lock()
        self.slots: dict[str, Slot] = {}
        self.config: Config | None = None
        self._mtimes: dict[str, int | None] = {}
        self.reload()

    # -- the config ----------------------------------------------------------------------------

    def reload(self) -> bool:
        """Read the config again; profiles whose settings changed lose their warm credentials.
        A file that cannot be read keeps the last good config (logged). Raises UserError on the
        first load only."""
        from ..config.loader import load

        try:
            config = load(self.config_path, lenient=True)
        except UserError as e:
            if self.config is None:
                raise
            self.log(f"config not reloaded: {e}")
            self._mtimes = self._files_mtimes(self.config.files + [self.config_path])
            return False
        with self._lock:
            old, self.config = self.config, config
            for name in list(self.slots):
                if self._resolve(name) != self.slots[name].profile:
                    del self.slots[name]
        self._mtimes = self._files_mtimes(config.files)
        if old is not None:
            self.log(f"config reloaded: {len(config.names())} profiles"
                     + (f", {len(config.broken)} broken" if config.broken else ""))
        return True

    @staticmethod
    def _files_mtimes(files) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for path in files:
            try:
                out[str(path)] = os.stat(path).st_mtime_ns
            except OSError:
                out[str(path)] = None
        return out

    def config_changed(self) -> bool:
        return self._files_mtimes(self._mtimes) != self._mtimes

    @property
    def loaded(self) -> "Config":
        """The config in use (the first `reload`, in __init__, loaded it or raised)."""
        assert self.config is not None
        return self.config

    def _resolve(self, name: str):
        try:
            return self.loaded.resolve(name)
        except ConfigError:
            return None

    def names(self) -> list[str]:
        return self.loaded.names()

    # -- requests ------------------------------------------------------------------------------

    def forget(self, names: list[str]) -> None:
        """`clear` removed these profiles' cache entries: their warm copies go too."""
        with self._lock:
            for name in names:
                if name in self.slots:
                    self.slots[name].credentials = None
        self.log(f"cleared: {len([n for n in names if n])} profile(s) fetched afresh")

    def answer(self, name: str) -> tuple[Answer | None, Job | None]:
        """(an answer now, None) or (None, the job to wait for). Never blocks."""
        now = time.time()
        with self._lock:
            slot = self.slots.get(name)
            if slot is None:
                try:
                    profile = self.loaded.resolve(name)
                except ProfileNotFound:
                    return error(404, "ProfileNotFound", f"profile '{name}' is not in "
                                 f"{self.config_path}; add it, or fix the name in the "
                                 "client's URI", name), None
                except ConfigError as e:
                    return error(500, "ConfigError", _naming(name, str(e)), name), None
                slot = self.slots[name] = Slot(profile)
            slot.asked = now
            credentials = slot.credentials
            if credentials is not None and self.policy.serves(credentials, now):
                return self._served(slot), None
            job = slot.job
            if job is not None:
                return None, job
            if slot.failure is not None and now - slot.failure[0] < FAILURE_HOLD:
                return slot.failure[1], None
            return None, self._start(slot, background=False)

    def pending(self, name: str, job: Job) -> Answer:
        """The answer for a request that waited REQUEST_WAIT for `job`."""
        if job.waiting_for_mfa and not job.background:
            return mfa_required(name, asking=True)
        if job.waiting_for_login is not None and not job.background:
            session = job.waiting_for_login
            return error(503, login_required(session.kind), f"profile '{name}' needs a login of "
                         f"{session.label}: complete it in the browser that opened, or run "
                         f"{session.login_command}; then retry", name)
        return error(503, "CredentialsPending",
                     f"profile '{name}': credentials are being fetched (another "
                     "xaccount-credproc may be waiting for an MFA code); retry in a moment", name)

    def _served(self, slot: Slot) -> Answer:
        c, p = slot.credentials, slot.profile
        assert c is not None  # served only once fetched
        body = {"AccessKeyId": c.access_key_id, "SecretAccessKey": c.secret_access_key,
                "Token": c.session_token, "Expiration": c.expiration_rfc3339(),
                "AccountId": p.account_id, "RoleArn": p.role_arn}
        return Answer(200, body, p.name)

    def seed(self, name: str, credentials) -> None:
        """Credentials just fetched by the caller (`exec --server`), served warm."""
        with self._lock:
            profile = self.loaded.resolve(name)
            slot = self.slots.setdefault(name, Slot(profile))
            slot.credentials, slot.asked = credentials, time.time()

    # -- fetching ------------------------------------------------------------------------------

    def _start(self, slot: Slot, background: bool) -> Job:
        job = slot.job = Job(background)
        threading.Thread(target=self._run, args=(slot, job), daemon=True,
                         name=f"fetch {slot.profile.name}").start()
        return job

    def _resolver(self, profile, job: Job):
        from ..credentials.resolver import Resolver

        policy = self.policy.for_renewal() if job.background else self.policy
        return Resolver(profile, warnings=[], policy=policy,
                        mfa_for=lambda hop: JobMfa(job, hop), sign_in=JobSignIn(job, self.log))

    def _run(self, slot: Slot, job: Job) -> None:
        name = slot.profile.name
        started = time.monotonic()
        asked_at = time.time()  # how long STS made the session is judged from here
        answer: Answer | None = None
        fresh = None
        resolver = None
        try:
            resolver = self._resolver(slot.profile, job)
            fresh = resolver.credentials()
            if not self.policy.serves(fresh):
                fresh, answer = None, error(
                    500, "SessionTooShort", f"profile '{name}': STS issued credentials that "
                    f"last less than the {SERVE_MIN // 60} minutes the credential server must "
                    "leave a client", name)
        except HumanNeeded:
            pass
        except MfaError as e:
            answer = mfa_required(name, reason=str(e))
        except LoginNeeded as e:
            answer = error(503, login_required(e.kind), _naming(name, str(e)), name)
        except ConfigError as e:
            answer = error(500, "ConfigError", _naming(name, str(e)), name)
        except AwsError as e:
            answer = error(502, "AwsError", _naming(name, str(e)), name)
        except UserError as e:
            answer = error(503, "Unavailable", _naming(name, str(e)), name)
        except Exception as e:  # a thread's exception would be printed with its traceback
            if debug.enabled:
                import traceback

                traceback.print_exc()
            answer = error(500, "InternalError", f"profile '{name}': internal error "
                           f"({type(e).__name__}); see the server's log", name)
        for warning in dict.fromkeys(resolver.warnings if resolver is not None else []):
            self.log(f"warning: {warning}")
        elapsed = (time.monotonic() - started) * 1000
        with self._lock:
            slot.job = None
            if fresh is not None:
                slot.credentials, slot.failure = fresh, None
                # Judged as issued (not after a slow fetch).
                slot.short_sessions = self.policy.short_lived(fresh, asked_at)
                slot.human_needed_for = None
            elif job.background:
                if answer is None:  # HumanNeeded
                    slot.human_needed_for = slot.credentials.expiration if slot.credentials \
                        else None
                else:
                    slot.background_failed = time.time()
            else:
                assert answer is not None  # a foreground job that failed has its answer
                slot.failure = (time.time(), answer)
        what = "renewed" if job.background else "fetched"
        if fresh is not None:
            self.log(f"{what} profile={name} expires={fresh.expiration_rfc3339()} "
                     f"{elapsed:.0f}ms")
        elif answer is not None:
            self.log(f"not {what} profile={name}: {answer.body['code']}: "
                     f"{answer.body['message']}")
        else:
            self.log(f"not renewed profile={name}: it needs an MFA code; a client's request "
                     "will ask for it")
        job.done = True
        job.changed()

    def tick(self) -> None:
        """Called about once a second: renew what will soon run short, when no person is
        needed for it."""
        now = time.time()
        with self._lock:
            for slot in self.slots.values():
                c = slot.credentials
                if c is None or slot.job is not None or now - slot.asked > ACTIVE_FOR:
                    continue
                if not self.policy.renewal_due(c, slot.short_sessions, now) \
                        or slot.human_needed_for == c.expiration:
                    continue
                if now - slot.background_failed < RETRY_BACKGROUND:
                    continue
                self._start(slot, background=True)


def login_required(kind: str) -> str:
    """The code of a 503 for a profile whose login needs a person: SsoLoginRequired (IAM
    Identity Center, the code clients have known since it came) or LoginRequired (AWS
    Sign-In)."""
    from ..credentials.sign_in import IDENTITY_CENTER

    return "SsoLoginRequired" if kind == IDENTITY_CENTER else "LoginRequired"


def mfa_required(name: str, asking: bool = False, reason: str | None = None) -> Answer:
    if asking:
        message = (f"profile '{name}' needs an MFA code: enter it in the dialog (or answer your "
                   f"mfa_process), {in_a_terminal(name)}")
    else:
        message = f"{_naming(name, reason or 'an MFA code is needed')}; {in_a_terminal(name)}"
    return error(503, "MfaRequired", message, name)


def _naming(name: str, message: str) -> str:
    """`message`, prefixed with the profile unless it names it already."""
    return message if f"'{name}'" in message else f"profile '{name}': {message}"
