"""Coverage-guided fuzz targets for asgi_core, one per protocol entry point (see README.md)."""
