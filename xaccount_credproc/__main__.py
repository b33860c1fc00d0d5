"""`python -m xaccount_credproc`, and the fast start that `init` writes into ~/.aws/config:
`PYTHON -S .../xaccount_credproc/__main__.py credential-process --profile NAME`.

`-S` skips `site` (.pth files, site-packages scans, sitecustomize): about 4 ms of every cache hit,
which needs nothing but the standard library and this package. Run as a script (not as a
directory or with -m, which load runpy and its imports: 2 ms more), this file puts the package's
parent on sys.path; anything else (boto3, keyring, filelock, ...) is found on first import by
launch.SiteOnDemand, which runs `site` then, as the interpreter would have at start.
"""

import sys

if not __package__:  # run as a script: sys.path[0] is the package dir itself
    import os

    sys.path[0] = os.path.dirname(os.path.abspath(sys.path[0]))
    if sys.flags.no_site:
        from xaccount_credproc import launch

        launch.site_on_demand()

from xaccount_credproc.cli import main  # noqa: E402 - after the path is set

sys.exit(main())
