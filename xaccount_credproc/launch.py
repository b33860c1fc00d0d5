"""`site`, loaded on demand for the fast start (`python -S PACKAGE_DIR`, see __main__.py).

A finder at the end of sys.meta_path: it is asked only for a top-level module that nothing on
sys.path has (a third-party package in site-packages). It then runs `site.main()`, which adds
site-packages, user site-packages and .pth paths and runs sitecustomize, exactly as the
interpreter would have at start, steps aside, and lets the normal path finder look again. A cache
hit never gets here; a miss pays for `site` once, before its first third-party import.
"""

import sys

JYTHON_PROBES = ("org", "java")


class SiteOnDemand:
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


def site_on_demand() -> None:
    if SiteOnDemand not in sys.meta_path:
        sys.meta_path.append(SiteOnDemand)
