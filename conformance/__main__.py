"""Entry point: python -m conformance --plugin-dir DIR ..."""

import sys

from .cli import main

sys.exit(main())
