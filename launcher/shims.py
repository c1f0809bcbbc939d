"""Write small launcher scripts named like the plugins (bridge, host-local, ...) into a directory.

Used by the tests and by `make shims`: the directory can serve as CNI_PATH while running
from source. The frozen build (build.spec) produces real executables instead.
"""

from __future__ import annotations

import os
import sys

from launcher.programs import ENTRIES

TEMPLATE = """#!{python} -I
from launcher.multicall import run
run({name!r})
"""


def write_shims(directory: str, python: str = sys.executable, names: list[str] | None = None) -> list[str]:
    os.makedirs(directory, exist_ok=True)
    written = []
    for name in names or list(ENTRIES):
        path = os.path.join(directory, name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(TEMPLATE.format(python=python, name=name))
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
        written.append(path)
    return written


def main() -> None:
    import argparse  # the command line only: plugins read TEMPLATE (launcher.inprocess)

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory")
    options = parser.parse_args()
    for path in write_shims(options.directory):
        print(path)


if __name__ == "__main__":
    main()
