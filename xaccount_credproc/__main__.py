"""`python -m xaccount_credproc`, and the fast start that `init` writes into ~/.aws/config:
`PYTHON -S .../xaccount_credproc/__main__.py credential-process --profile NAME`.

`-S` skips `site` (.pth files, site-packages scans, sitecustomize): about 4 ms of every cache hit,
which needs nothing but the standard library and this package. Run as a script (not as a
directory or with -m, which load runpy and its imports: 2 ms more), this file puts the package's
parent on sys.path; anything else (boto3, keyring, filelock, ...) is found on first import by
SiteOnDemand below, which runs `site` then, as the interpreter would have at start. It lives in
this script rather than a module of its own: one import fewer on every cache hit.
"""

import sys

JYTHON_PROBES = ("org", "java")


class SiteOnDemand:
    """`site`, loaded on demand: a finder at the end of sys.meta_path, asked only for a
    top-level module that nothing on sys.path has (a third-party package in site-packages). It
    then runs `site.main()`, which adds site-packages, user site-packages and .pth paths and
    runs sitecustomize, exactly as the interpreter would have at start, steps aside, and lets
    the normal path finder look again. A cache hit never gets here; a miss pays for `site` once,
    before its first third-party import."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if path is not None:
            return None  # a submodule: its package, already imported, knows where it lives
        if name in sys.stdlib_module_names or name in JYTHON_PROBES:
            # The standard library probing for what this platform lacks (`copy` tries Jython's
            # `org`, `ntpath` tries `nt`): site-packages cannot have it.
            return None
        cls.load_site()
        from importlib.machinery import PathFinder

        return PathFinder.find_spec(name, None, target)

    @classmethod
    def load_site(cls) -> None:
        if cls in sys.meta_path:
            sys.meta_path.remove(cls)
        import site

        site.main()


if not __package__:  # run as a script: sys.path[0] is the package dir itself
    here = sys.path[0].rstrip("/")
    if here.startswith("/"):  # as `init` writes it: no `os` (2 ms) for a path's parent
        sys.path[0] = here.rpartition("/")[0] or "/"
    else:
        import os

        sys.path[0] = os.path.dirname(os.path.abspath(sys.path[0]))
    if sys.flags.no_site and SiteOnDemand not in sys.meta_path:
        sys.meta_path.append(SiteOnDemand)

from xaccount_credproc.cli import main  # noqa: E402 - after the path is set

sys.exit(main())
