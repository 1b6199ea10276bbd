"""``python -m asgi_core``: the same command line as ``asgi-core``."""

import sys
from importlib import import_module

# Imported by name so that the core itself never imports a driver (see docs/architecture.md).
sys.exit(import_module("asgi_core.backends.cli").main())
