"""The ``asgi-core`` command (also ``python -m asgi_core``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from asgi_core.config import Config
from asgi_core.errors import ConfigError

from .config import BACKENDS, CERT_REQS, LIFESPAN_MODES, LOOPS, ServerConfig
from .importer import AppImportError, import_app
from .logs import LOG_LEVELS, configure_logging
from .tls import ServerTLS

DEMO_APP = "asgi_core.demo:app"
EXIT_STARTUP_FAILED = 3


@dataclass(frozen=True, slots=True)
class Flag:
    """A command-line flag that sets the ``Config`` or ``ServerConfig`` field named ``dest``.

    Its type and default are those of the field's default: a bool makes ``--x/--no-x``.
    """

    dest: str
    help: str | None = None
    #: The flag's name when it is not the field's name with dashes (``--certfile``).
    name: str | None = None
    choices: tuple[str, ...] | None = None
    #: 0 on the command line is the field's ``None``: the limit or the timer is off.
    zero_is_off: bool = False
    #: A second flag that sets the field to ``None`` (``--no-server-header``).
    off: str | None = None
    #: For a flag that sets no field.
    default: Any = None
    #: Parses the flag's value, when the field's type does not (octal permissions).
    parse: Any = None

    @property
    def flag(self) -> str:
        return self.name or "--" + self.dest.replace("_", "-")

    def add_to(self, group: argparse._ActionsContainer, defaults: dict[str, Any]) -> None:
        default = defaults.get(self.dest, self.default)
        metavar = self.flag.removeprefix("--").replace("-", "_").upper()
        if isinstance(default, bool):
            kind: dict[str, Any] = {"action": argparse.BooleanOptionalAction}
        elif isinstance(default, tuple):  # repeatable: each use adds one
            kind = {"action": "append", "metavar": metavar}
            default = None
        elif self.parse is not None:
            kind = {"metavar": metavar, "type": self.parse}
        elif self.choices is not None:
            kind = {"choices": self.choices}
        else:
            kind = {"metavar": metavar, "type": str if default is None else type(default)}
        group.add_argument(self.flag, dest=self.dest, default=default, help=self.help, **kind)
        if self.off is not None:
            group.add_argument(self.off, dest=self.dest, action="store_const", const=None)


def octal(text: str) -> int:
    """Permissions written in octal (660, 0o660)."""
    return int(text.removeprefix("0o"), 8)


#: Every flag but APP and --app-dir: (group title, group description, flags); no title is the
#: parser's own group.
FLAGS: tuple[tuple[str | None, str | None, tuple[Flag, ...]], ...] = (
    (
        None,
        None,
        (
            Flag("host", "address to listen on; :: listens on IPv6 and IPv4"),
            Flag("port", "0: any free port"),
            Flag(
                "bind",
                "listen on HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N instead of --host and "
                "--port (TLS with --certfile); repeatable",
            ),
            Flag("insecure_bind", "like --bind, but always plain HTTP; repeatable"),
            Flag("uds", "listen on this Unix domain socket (a stale socket file is replaced)"),
            Flag("uds_mode", "permissions of the Unix socket file, in octal (660)", parse=octal),
            Flag("fd", "listen on this inherited file descriptor of a listening socket", parse=int),
            Flag("backend", choices=BACKENDS),
            Flag("loop", choices=LOOPS),
            Flag("lifespan", choices=LIFESPAN_MODES),
            Flag("root_path"),
            Flag("log_level", choices=LOG_LEVELS, default="info"),
            Flag("access_log"),
            Flag("backlog"),
            Flag("graceful_timeout", "seconds in-flight requests get after SIGINT/SIGTERM"),
            Flag(
                "shutdown_delay",
                "seconds to keep serving after SIGTERM (the health path answers 503) before "
                "the server stops accepting",
            ),
            Flag("health_path", "a path the server answers: 200, or 503 while draining"),
            Flag(
                "limit_concurrency",
                "requests in flight past which new ones get 503; 0: no limit",
                zero_is_off=True,
                parse=int,
            ),
            Flag("keep_alive_timeout"),
            Flag("request_head_timeout"),
            Flag("request_body_timeout"),
            Flag("max_request_head_size"),
            Flag("max_request_body_size", "bytes; 0 turns the limit off", zero_is_off=True),
            Flag("max_buffered_body_size"),
            Flag("ws_max_size", "largest WebSocket message; a larger one closes with 1009"),
            Flag("ws_max_queue"),
            Flag(
                "ws_ping_interval",
                "seconds between keepalive pings; 0 turns them off",
                zero_is_off=True,
            ),
            Flag("ws_ping_timeout", zero_is_off=True),
            Flag("ws_close_timeout"),
            Flag("ws_per_message_deflate"),
            Flag("server_header", off="--no-server-header"),
            Flag("date_header"),
        ),
    ),
    (
        "HTTP/2",
        "limits per HTTP/2 connection",
        (
            Flag("http2", "serve HTTP/2 (ALPN h2, prior knowledge, Upgrade: h2c)"),
            Flag("h2_max_concurrent_streams"),
            Flag("h2_max_header_list_size"),
            Flag("h2_max_header_table_size"),
            Flag("h2_connection_window_size"),
            Flag("h2_reset_budget", "stream resets per 10 s before GOAWAY(ENHANCE_YOUR_CALM)"),
            Flag(
                "h2_control_frame_budget", "PING, SETTINGS, PRIORITY and empty DATA frames per 10 s"
            ),
        ),
    ),
    (
        "TLS",
        "serve https (and wss) when --certfile is given",
        (
            Flag(
                "ssl_certfile",
                "PEM certificate chain, the server's certificate first",
                name="--certfile",
            ),
            Flag("ssl_keyfile", "PEM private key, when it is not in --certfile", name="--keyfile"),
            Flag(
                "ssl_keyfile_password",
                "password of an encrypted --keyfile",
                name="--keyfile-password",
            ),
            Flag(
                "ssl_ca_certs",
                "PEM CA certificates to verify client certificates",
                name="--ca-certs",
            ),
            Flag(
                "ssl_cert_reqs",
                "ask clients for a certificate: none, optional, or required",
                name="--cert-reqs",
                choices=CERT_REQS,
            ),
            Flag(
                "ssl_ciphers",
                "OpenSSL cipher string for TLS 1.2 (default: ECDHE+AEAD)",
                name="--ciphers",
            ),
            Flag("tls_handshake_timeout", "seconds a client has to finish the TLS handshake"),
            Flag(
                "ssl_reload_interval",
                "seconds between checks of the certificate files: a change reloads them for new "
                "handshakes (SIGHUP always does); 0: off",
                zero_is_off=True,
                parse=float,
            ),
        ),
    ),
    (
        "Processes",
        "more than one worker, --limit-max-requests or --reload run a supervisor that forks "
        "the workers; SIGHUP replaces them one by one, SIGTTIN/SIGTTOU add and remove one",
        (
            Flag("workers", "worker processes sharing the sockets (1: no supervisor)"),
            Flag(
                "limit_max_requests",
                "a worker that has served this many requests is replaced; 0: never",
                zero_is_off=True,
                parse=int,
            ),
            Flag("limit_max_requests_jitter", "up to this many more requests (random per worker)"),
            Flag("reload", "replace the workers when a watched file changes (development)"),
            Flag(
                "reload_dirs",
                "folder to watch (default: --app-dir); repeatable",
                name="--reload-dir",
            ),
            Flag(
                "reload_includes",
                "glob pattern of files to watch besides *.py; repeatable",
                name="--reload-include",
            ),
            Flag(
                "reload_excludes",
                "glob pattern (or folder) never to watch; repeatable",
                name="--reload-exclude",
            ),
        ),
    ),
    (
        "Proxies",
        "behind a reverse proxy or a load balancer (docs/proxies.md)",
        (
            Flag(
                "proxy_headers",
                "take client, scheme, host and root_path from Forwarded / X-Forwarded-* sent by "
                "--forwarded-allow-ips peers",
            ),
            Flag(
                "forwarded_allow_ips",
                "peers trusted with proxy headers and PROXY headers: IPs, CIDRs, * or unix, "
                "comma-separated; repeatable (default 127.0.0.1)",
            ),
            Flag(
                "proxy_protocol",
                "every connection starts with a PROXY protocol v1 or v2 header (HAProxy "
                "send-proxy); it sets the client address",
            ),
            Flag("proxy_protocol_timeout", "seconds a connection has to send its PROXY header"),
        ),
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asgi-core",
        description=(
            "Serve an ASGI 3 application over HTTP/1.1, HTTP/2 and WebSocket. "
            "With no APP, serves a demo app."
        ),
    )
    parser.add_argument("app", nargs="?", default=DEMO_APP, help="module:attribute of the app")
    parser.add_argument("--app-dir", default=".", help="folder to import the app from")
    defaults = {**_field_values(ServerConfig()), **_field_values(Config())}
    for title, description, flags in FLAGS:
        group = parser if title is None else parser.add_argument_group(title, description)
        for flag in flags:
            flag.add_to(group, defaults)
    return parser


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    values = vars(args).copy()
    for _, _, flags in FLAGS:
        for flag in flags:
            if flag.zero_is_off and values[flag.dest] == 0:
                values[flag.dest] = None
            elif isinstance(values.get(flag.dest), list):
                values[flag.dest] = tuple(values[flag.dest])
            elif values.get(flag.dest) is None and flag.dest in _REPEATABLE:
                values[flag.dest] = ()
            elif values.get(flag.dest) is None and flag.dest in _KEEP_DEFAULT:
                del values[flag.dest]  # not given: the field's own default

    def taken(cls: type[Config] | type[ServerConfig]) -> dict[str, Any]:
        return {field.name: values[field.name] for field in fields(cls) if field.name in values}

    return ServerConfig(**taken(ServerConfig), protocol=Config(**taken(Config)))


#: Fields a repeatable flag fills (their default is a tuple).
_REPEATABLE = frozenset(f.name for f in fields(ServerConfig) if isinstance(f.default, tuple))
#: Repeatable flags whose field's default is not empty (``forwarded_allow_ips``).
_KEEP_DEFAULT = frozenset(f.name for f in fields(Config) if f.default not in ((), None)
                          and isinstance(f.default, tuple))  # fmt: skip


def _field_values(config: Config | ServerConfig) -> dict[str, Any]:
    return {field.name: getattr(config, field.name) for field in fields(config)}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        config = config_from_args(args)
        ServerTLS.from_config(config)  # a missing or bad certificate: one line, before serving
        # Supervised workers import the app themselves (a replaced one loads the new code).
        app: Any = None if config.supervised else import_app(args.app, args.app_dir)
    except (ConfigError, AppImportError) as exc:
        print(f"asgi-core: error: {exc}", file=sys.stderr)
        return 2
    from .lifespan import LifespanFailure
    from .run import BackendUnavailable, run

    try:
        if config.supervised:
            from .supervisor import supervise

            return supervise(config, lambda: import_app(args.app, args.app_dir), args.app_dir)
        run(app, config)
    except (BackendUnavailable, ConfigError) as exc:  # (a bad --fd, --uds or LISTEN_FDS)
        print(f"asgi-core: error: {exc}", file=sys.stderr)
        return 2
    except LifespanFailure as exc:
        print(f"asgi-core: {exc}", file=sys.stderr)
        return EXIT_STARTUP_FAILED
    except OSError as exc:  # the address is in use, or not ours to bind
        print(f"asgi-core: cannot serve on {exc.filename or 'it'}: {exc.strerror or exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
