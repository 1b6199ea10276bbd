"""``python -m asgi_core``: the same command line as ``asgi-core``."""

import sys

from asgi_core.backends.cli import main

sys.exit(main())
