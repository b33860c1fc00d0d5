"""The package's shape (ARCHITECTURE.md): families in folders, no import cycle, a thin command
layer, a cache hit that imports no more than it did, and files written by the release before the
regrouping that keep working unchanged."""

import ast
import shlex
import time
from pathlib import Path

from tests.harness.world import ALICE_ARN, ALICE_KEY, ALICE_SECRET, BIN, FAST_START, ROLE_ARN

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "xaccount_credproc"
GOLDEN = ROOT / "tests" / "golden" / "release-0.1.0"
FAMILIES = {"cli", "config", "credentials", "backends", "prompt", "sources", "doctor", "server",
            "console", "discovery", "web", "eks", "shell"}
MAX_LOOSE = 6
MAX_CLI_LINES = 150


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Which of the package's modules each one imports, anywhere in it (lazy imports inside
    functions included); `from PKG import NAME` counts as PKG.NAME where that is a module."""
    known = modules()
    graph = {name: set() for name in known}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                           for alias in node.names]
            for target in targets:
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_the_graph_sees_lazy_imports():
    graph = import_graph()
    # Imported inside functions only: the walk must find them, or the cycle check means nothing.
    assert "xaccount_credproc.config.loader" in graph["xaccount_credproc.config.snapshot"]
    assert "xaccount_credproc.prompt.mfa" in graph["xaccount_credproc.credentials.resolver"]
    assert "xaccount_credproc.credentials.source_session" in graph["xaccount_credproc.sources.add"]


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_a_planted_cycle_would_be_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


# Which families each family may use: the families depend one way (ARCHITECTURE.md).
MAY_USE = {
    "cli": FAMILIES - {"cli"},
    "doctor": {"config", "credentials", "backends", "prompt", "server", "console"},
    "server": {"config", "credentials", "prompt", "web"},
    "sources": {"config", "credentials", "backends", "prompt"},
    "console": {"config", "credentials", "web"},
    "discovery": {"config", "credentials"},
    "eks": {"config", "credentials"},
    "shell": {"config", "credentials", "prompt"},
    "credentials": {"config", "backends", "prompt", "web"},
    "prompt": {"backends"},
    "web": set(),
    "backends": set(),  # where files live and how they are written: files.py, not config
    "config": set(),
}


def family(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FAMILIES else None


def test_families_depend_one_way():
    used = {}
    for name, targets in import_graph().items():
        for target in targets:
            if family(name) and family(target) and family(name) != family(target):
                used.setdefault(family(name), set()).add(family(target))
    assert {f: sorted(u - MAY_USE[f]) for f, u in used.items() if u - MAY_USE[f]} == {}
    assert cycles({f: MAY_USE[f] for f in FAMILIES}) == []


def test_only_the_command_layer_imports_the_command_layer():
    offenders = sorted(f"{name} -> {target}" for name, targets in import_graph().items()
                       for target in targets
                       if target.startswith("xaccount_credproc.cli")
                       and not name.startswith("xaccount_credproc.cli"))
    # __main__ is the entry point: it runs the command layer.
    assert offenders == ["xaccount_credproc.__main__ -> xaccount_credproc.cli"]


def test_commands_are_thin():
    long = {path.name: n for path in (PACKAGE / "cli").glob("*.py")
            if (n := len(path.read_text().splitlines())) > MAX_CLI_LINES}
    assert long == {}


def test_the_package_is_grouped_by_family():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == FAMILIES
    loose = sorted(p.name for p in PACKAGE.glob("*.py")
                   if p.name not in ("__init__.py", "__main__.py"))
    assert len(loose) <= MAX_LOOSE, loose
    # Each family says what it owns in its opening docstring.
    for family in FAMILIES:
        assert ast.get_docstring(ast.parse((PACKAGE / family / "__init__.py").read_text()))


def test_a_cache_hit_imports_no_more_of_the_package_than_before_the_regrouping(world):
    """17 of the package's modules on a Secret Service hit before the regrouping; now a hit
    takes its own path (credentials/hit.py) and imports 10: no config, no resolver."""
    world.standard(mfa_required=False)
    world.write_toml(world.toml.read_text().replace("mfa_serial = ", "# mfa_serial = "))
    fast = [*shlex.split(FAST_START), "credential-process", "--profile", "prod-read-only"]
    assert world._run(fast, None, 60).returncode == 0
    time.sleep(2.2)  # past the resolved-profile snapshot's racy window
    assert world._run(fast, None, 60).returncode == 0  # writes the snapshot
    result = world._run(fast, {"PYTHONPROFILEIMPORTTIME": "1"}, 60)
    assert result.returncode == 0, result.stderr
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")]
    ours = [m for m in imported if m.startswith("xaccount_credproc")]
    assert "xaccount_credproc.backends.secret_service" in ours
    assert "xaccount_credproc.credentials.hit" in ours, ours
    assert not any(m.startswith(("xaccount_credproc.config", "xaccount_credproc.credentials."
                                 "resolver")) for m in ours), ours
    assert len(ours) <= 10, ours
    assert len(world.sts.calls_of("AssumeRole")) == 1


def test_files_written_by_release_0_1_0_keep_working_unchanged(world):
    """The TOML config, the ~/.aws/config its `init` wrote (the fast start naming the package's
    __main__.py) and a stored source's keyring entry, all as 0.1.0 wrote them."""
    world.standard(mfa_required=False)
    world.sts.add_role("arn:aws:iam::333333333333:role/Admin")
    world.sts.add_role("arn:aws:iam::444444444444:role/Spoke", trusts=(ROLE_ARN,))
    world.write_toml((GOLDEN / "config.toml").read_text())
    world.aws_config.write_text((GOLDEN / "aws-config").read_text()
                                .replace("@PYTHON@", str(BIN / "python"))
                                .replace("@PACKAGE@", str(PACKAGE)))
    world.keyring_set("source/ops", f"xcs1\n{ALICE_KEY}\n{ALICE_SECRET}\n{ALICE_ARN}\n"
                                    f"{int(time.time())}")
    before = (world.toml.read_bytes(), world.aws_config.read_bytes())

    dry = world.run("init", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == f"{world.aws_config}: no changes"

    assert ":assumed-role/DevReadOnly-CrossAccount/alice" in world.identity("prod-read-only")
    assert ":assumed-role/DevReadOnly-CrossAccount/alice" in world.identity("prod-read-only")
    assert ":assumed-role/Admin/alice" in world.identity("staging-admin")
    assert ":assumed-role/Spoke/alice" in world.identity("spoke")
    assert world.identity("ops") == ALICE_ARN  # the stored source: the IAM user's own session
    # One AssumeRole each: the second prod-read-only call was a hit, the spoke reused its hub.
    assert sorted(c.params["RoleArn"] for c in world.sts.calls_of("AssumeRole")) == sorted(
        [ROLE_ARN, "arn:aws:iam::333333333333:role/Admin",
         "arn:aws:iam::444444444444:role/Spoke"])
    assert (world.toml.read_bytes(), world.aws_config.read_bytes()) == before


def test_no_test_hook_is_read_from_the_environment_in_the_package():
    """Kill points and stand-ins for the tests come from outside (a held request at the
    emulator, a signal, a file the test owns), never from a variable the product reads."""
    offenders = [str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py")
                 if "_TEST_" in path.read_text()]
    assert offenders == []


def test_no_test_module_imports_another():
    """Helpers shared by tests live in tests/harness/ or conftest.py's fixtures."""
    offenders = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {name}" for name in names
                          if name.startswith(("tests.test_", "tests.conftest"))]
    assert offenders == []


def test_the_shared_test_helpers_are_written_once():
    """The identity check (`world.identity`), the failed-in-one-line check
    (`harness.checks.failure_line`) and local HTTP servers (`harness.json_endpoint`) live in
    the harness; a test module defines none of its own."""
    offenders = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and (
                    node.name == "identity" or "Traceback" in ast.unparse(node)
                    and not node.name.startswith("test_")):
                offenders.append(f"{path.name}: def {node.name}")
            if isinstance(node, ast.ClassDef) and any(
                    "RequestHandler" in ast.unparse(base) for base in node.bases):
                offenders.append(f"{path.name}: class {node.name}")
    assert offenders == []


def test_commands_do_not_import_each_other():
    """A command module uses _common, _names, _tab, _fast or parser, and the core; never another
    command (what two commands share lives in cli/_common or the core)."""
    shared = {f"xaccount_credproc.cli.{name}" for name in ("_common", "_names", "_tab", "parser",
                                                           "_fast")}
    offenders = sorted(f"{name} -> {target}" for name, targets in import_graph().items()
                       if name.startswith("xaccount_credproc.cli.") and name not in shared
                       for target in targets
                       if target.startswith("xaccount_credproc.cli.") and target not in shared)
    assert offenders == []


def test_no_caller_asks_a_store_what_it_can_do_by_probing():
    """Capabilities are part of the declared interface (backends/store.py): never getattr or
    hasattr on a store."""
    import re

    probe = re.compile(r"\b(getattr|hasattr)\([^,)]*store")
    offenders = [f"{path.relative_to(ROOT)}:{number}" for path in PACKAGE.rglob("*.py")
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if probe.search(line)]
    assert offenders == []


def test_one_atomic_writer():
    """Every file this tool replaces goes through files.replace_atomically (fsync of the file
    and its directory): no other os.replace or rename into place in the package."""
    offenders = [str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py")
                 if path.name != "files.py"
                 and any(call in path.read_text() for call in ("os.replace(", "os.rename("))]
    assert offenders == []


def test_one_refresh_policy_and_one_cache_path():
    """When credentials are fresh enough is RefreshPolicy's to say (credentials/resolver.py),
    for `credential-process`, `list` and the server alike; entries are read and fetched only
    through `Cached` (the server, the commands and the providers never read the cache and call
    STS themselves)."""
    server = sorted((PACKAGE / "server").glob("*.py"))
    assert [p.name for p in server if "seconds_left(" in p.read_text()] == []
    assert [p.name for p in server if "RefreshPolicy(" in p.read_text()] == ["supply.py"]
    assert "refresh_margin" not in (PACKAGE / "cli" / "list.py").read_text()
    graph = import_graph()
    providers = PACKAGE / "credentials" / "providers"
    for path in providers.glob("*.py"):
        name = "xaccount_credproc.credentials.providers" + (
            "" if path.stem == "__init__" else f".{path.stem}")
        assert not graph[name] & {"xaccount_credproc.credentials.cache",
                                  "xaccount_credproc.credentials.locking"}, name
    text = "".join(p.read_text() for p in providers.glob("*.py"))
    for kind in ("LongTermKeys", "SsoSource", "StoredSource", "MfaSession", "RoleHop",
                 "IdentityCenterRole"):
        assert f"class {kind}" in text
        body = text.split(f"class {kind}")[1].split("\nclass ")[0]
        assert "def fetch(self) -> Credentials" in body or kind in ("LongTermKeys", "SsoSource")


def test_one_read_lock_read_again_fetch():
    """Anything shared between processes (a cache entry, a sign-in's token, the vault's key)
    is read, locked, read again and fetched in one place: credentials.fetched_once. Nothing
    else takes a lock and then reads again."""
    users = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                   if "held(" in path.read_text())
    # mfa_codes holds a device while a code is in flight: a turn, not a read and a fetch.
    assert users == ["credentials/__init__.py", "credentials/locking.py",
                     "credentials/mfa_codes.py"], users
    calls = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                   if "fetched_once(" in path.read_text())
    assert calls == ["credentials/__init__.py", "credentials/login/flows.py",
                     "credentials/resolver.py", "credentials/sso/login.py",
                     "credentials/stored/unlock.py"], calls


def test_credentials_gets_credentials_and_nothing_else():
    """credentials/ gets credentials: it neither writes the config files (discovery and init
    do), nor opens a console (console/), nor listens for a browser itself (web/)."""
    graph = import_graph()
    offenders = sorted(f"{name} -> {target}" for name, targets in graph.items()
                       if family(name) == "credentials" for target in targets
                       if target in ("xaccount_credproc.config.toml_edit",
                                     "xaccount_credproc.config.stanzas",
                                     "xaccount_credproc.config.awsconfig"))
    assert offenders == []
    for path in (PACKAGE / "credentials").rglob("*.py"):
        text = path.read_text()
        assert "http.server" not in text and "webbrowser" not in text, path


def test_one_loopback_listener():
    """The console's hop and every sign-in's callback are one listener (web/loopback.py)."""
    listeners = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                       if "http.server" in path.read_text())
    assert listeners == ["web/loopback.py"]


def test_one_naming_function():
    """Every discovered profile is named by discovery/naming.py, with one option for it."""
    fills = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                   if "account_name" in path.read_text() and ".format(" in path.read_text())
    assert fills == ["discovery/naming.py"], fills
    options = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                     if '"--name-template"' in path.read_text()
                     or '"--template"' in path.read_text())
    assert options == ["cli/parser.py", "discovery/naming.py"], options  # the option, its name


def test_stores_by_class():
    """One class per store behind SecretStore, each named in the conformance file; a store's
    name is compared only in the backends' factory; no store answers for another's kind."""
    conformance = (ROOT / "tests" / "typing" / "store_conformance.py").read_text()
    for path in list((PACKAGE / "backends").glob("*.py")) + [
            PACKAGE / "credentials" / "stored" / "stores.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(item, ast.FunctionDef) and item.name == "get_many"
                    for item in node.body):
                assert node.name.endswith("Store"), node.name
                assert node.name in conformance, node.name
    import re

    compared = re.compile(r"(==|!=|\bin)\s*\(?[^)\n]*\"(kernel|secret-service|auto)\"")
    offenders = [f"{path.relative_to(ROOT)}:{number}" for path in PACKAGE.rglob("*.py")
                 if path != PACKAGE / "backends" / "__init__.py"
                 and path.parent != PACKAGE / "config"
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if compared.search(line) and "keyring_backend" in line]
    assert offenders == []
    store = (PACKAGE / "backends" / "store.py").read_text()
    for member in ("kernel", "replaceable", "chunk_size", "takes_expiry"):
        assert f"def {member}" not in store and f"    {member}:" not in store


def test_no_two_modules_in_a_folder_differ_by_an_s():
    offenders = []
    for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]:
        names = {p.stem for p in folder.glob("*.py")} | {
            p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
        offenders += [f"{folder.name}/{n}" for n in names if n + "s" in names]
    assert offenders == []


def test_test_modules_are_by_feature_and_not_too_long():
    """Tests are grouped by the feature they test; property suites (robustness, the secret
    scan, local trust, the layout, types) cut across. None is a catch-all; none over 800
    lines."""
    modules = sorted((ROOT / "tests").glob("test_*.py"))
    long = {p.name: n for p in modules if (n := len(p.read_text().splitlines())) > 800}
    assert long == {}
    assert not [p.name for p in modules
                if any(word in p.stem for word in ("small", "misc", "defects", "other"))]
