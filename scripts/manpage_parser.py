"""The command line's parser, for argparse-manpage at build time (pyproject.toml,
[tool.build_manpages]): the man page is generated from the very parser the program uses.

Loaded as a file by the build backend, from the source tree or an unpacked sdist, where the
package is beside this folder but not installed.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from xaccount_credproc.cli.parser import build_parser  # noqa: E402


def manual_parser():
    return build_parser(for_manual=True)
