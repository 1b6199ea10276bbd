"""Shared test helpers: an in-memory driver, a response parser, and servers on real sockets."""
