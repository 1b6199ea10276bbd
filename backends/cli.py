"""The ``asgi-core`` command (also ``python -m asgi_core``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from asgi_core.config import Config
from asgi_core.errors import ConfigError

from .config import BACKENDS, CERT_REQS, LIFESPAN_MODES, LOOPS, ServerConfig
from .importer import AppImportError, import_app
from .logs import LOG_LEVELS, configure_logging
from .tls import ServerTLS

DEMO_APP = "asgi_core.demo:app"
EXIT_STARTUP_FAILED = 3


def build_parser() -> argparse.ArgumentParser:
    defaults = Config()
    server_defaults = ServerConfig()
    parser = argparse.ArgumentParser(
        prog="asgi-core",
        description="Serve an ASGI 3 application over HTTP/1.1. With no APP, serves a demo app.",
    )
    parser.add_argument("app", nargs="?", default=DEMO_APP, help="module:attribute of the app")
    parser.add_argument("--app-dir", default=".", help="folder to import the app from")
    parser.add_argument("--host", default=server_defaults.host)
    parser.add_argument("--port", type=int, default=server_defaults.port, help="0: any free port")
    parser.add_argument("--backend", choices=BACKENDS, default=server_defaults.backend)
    parser.add_argument("--loop", choices=LOOPS, default=server_defaults.loop)
    parser.add_argument("--lifespan", choices=LIFESPAN_MODES, default=server_defaults.lifespan)
    parser.add_argument("--root-path", default=defaults.root_path)
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    parser.add_argument(
        "--access-log", action=argparse.BooleanOptionalAction, default=server_defaults.access_log
    )
    parser.add_argument("--backlog", type=int, default=server_defaults.backlog)
    parser.add_argument(
        "--graceful-timeout",
        type=float,
        default=server_defaults.graceful_timeout,
        help="seconds in-flight requests get after SIGINT/SIGTERM",
    )
    parser.add_argument("--keep-alive-timeout", type=float, default=defaults.keep_alive_timeout)
    parser.add_argument("--request-head-timeout", type=float, default=defaults.request_head_timeout)
    parser.add_argument("--request-body-timeout", type=float, default=defaults.request_body_timeout)
    parser.add_argument("--max-request-head-size", type=int, default=defaults.max_request_head_size)
    parser.add_argument(
        "--max-request-body-size",
        type=int,
        default=defaults.max_request_body_size,
        help="bytes; 0 turns the limit off",
    )
    parser.add_argument(
        "--max-buffered-body-size", type=int, default=defaults.max_buffered_body_size
    )
    parser.add_argument(
        "--ws-max-size",
        type=int,
        default=defaults.ws_max_size,
        help="largest WebSocket message; a larger one closes with 1009",
    )
    parser.add_argument("--ws-max-queue", type=int, default=defaults.ws_max_queue)
    parser.add_argument(
        "--ws-ping-interval",
        type=float,
        default=defaults.ws_ping_interval,
        help="seconds between keepalive pings; 0 turns them off",
    )
    parser.add_argument("--ws-ping-timeout", type=float, default=defaults.ws_ping_timeout)
    parser.add_argument("--ws-close-timeout", type=float, default=defaults.ws_close_timeout)
    parser.add_argument(
        "--ws-per-message-deflate",
        action=argparse.BooleanOptionalAction,
        default=defaults.ws_per_message_deflate,
    )
    parser.add_argument("--server-header", default=defaults.server_header)
    parser.add_argument(
        "--no-server-header", dest="server_header", action="store_const", const=None
    )
    parser.add_argument(
        "--date-header", action=argparse.BooleanOptionalAction, default=defaults.date_header
    )
    h2 = parser.add_argument_group("HTTP/2", "limits per HTTP/2 connection")
    h2.add_argument(
        "--http2",
        action=argparse.BooleanOptionalAction,
        default=defaults.http2,
        help="serve HTTP/2 (ALPN h2, prior knowledge, Upgrade: h2c)",
    )
    h2.add_argument(
        "--h2-max-concurrent-streams", type=int, default=defaults.h2_max_concurrent_streams
    )
    h2.add_argument("--h2-max-header-list-size", type=int, default=defaults.h2_max_header_list_size)
    h2.add_argument(
        "--h2-max-header-table-size", type=int, default=defaults.h2_max_header_table_size
    )
    h2.add_argument(
        "--h2-connection-window-size", type=int, default=defaults.h2_connection_window_size
    )
    h2.add_argument(
        "--h2-reset-budget",
        type=int,
        default=defaults.h2_reset_budget,
        help="stream resets per 10 s before GOAWAY(ENHANCE_YOUR_CALM)",
    )
    h2.add_argument(
        "--h2-control-frame-budget",
        type=int,
        default=defaults.h2_control_frame_budget,
        help="PING, SETTINGS, PRIORITY and empty DATA frames per 10 s",
    )
    tls = parser.add_argument_group("TLS", "serve https (and wss) when --certfile is given")
    tls.add_argument("--certfile", help="PEM certificate chain, the server's certificate first")
    tls.add_argument("--keyfile", help="PEM private key, when it is not in --certfile")
    tls.add_argument("--keyfile-password", help="password of an encrypted --keyfile")
    tls.add_argument("--ca-certs", help="PEM CA certificates to verify client certificates")
    tls.add_argument(
        "--cert-reqs",
        choices=CERT_REQS,
        default=server_defaults.ssl_cert_reqs,
        help="ask clients for a certificate: none, optional, or required",
    )
    tls.add_argument("--ciphers", help="OpenSSL cipher string for TLS 1.2 (default: ECDHE+AEAD)")
    tls.add_argument(
        "--tls-handshake-timeout",
        type=float,
        default=server_defaults.tls_handshake_timeout,
        help="seconds a client has to finish the TLS handshake",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    protocol = Config(
        root_path=args.root_path,
        server_header=args.server_header,
        date_header=args.date_header,
        max_request_head_size=args.max_request_head_size,
        max_request_body_size=args.max_request_body_size or None,
        max_buffered_body_size=args.max_buffered_body_size,
        keep_alive_timeout=args.keep_alive_timeout,
        request_head_timeout=args.request_head_timeout,
        request_body_timeout=args.request_body_timeout,
        ws_max_size=args.ws_max_size,
        ws_max_queue=args.ws_max_queue,
        ws_ping_interval=args.ws_ping_interval or None,
        ws_ping_timeout=args.ws_ping_timeout or None,
        ws_close_timeout=args.ws_close_timeout,
        ws_per_message_deflate=args.ws_per_message_deflate,
        http2=args.http2,
        h2_max_concurrent_streams=args.h2_max_concurrent_streams,
        h2_max_header_list_size=args.h2_max_header_list_size,
        h2_max_header_table_size=args.h2_max_header_table_size,
        h2_connection_window_size=args.h2_connection_window_size,
        h2_reset_budget=args.h2_reset_budget,
        h2_control_frame_budget=args.h2_control_frame_budget,
    )
    return ServerConfig(
        host=args.host,
        port=args.port,
        backend=args.backend,
        loop=args.loop,
        lifespan=args.lifespan,
        graceful_timeout=args.graceful_timeout,
        backlog=args.backlog,
        access_log=args.access_log,
        protocol=protocol,
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        ssl_keyfile_password=args.keyfile_password,
        ssl_ca_certs=args.ca_certs,
        ssl_cert_reqs=args.cert_reqs,
        ssl_ciphers=args.ciphers,
        tls_handshake_timeout=args.tls_handshake_timeout,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        config = config_from_args(args)
        ServerTLS.from_config(config)  # a missing or bad certificate: one line, before serving
        app: Any = import_app(args.app, args.app_dir)
    except (ConfigError, AppImportError) as exc:
        print(f"asgi-core: error: {exc}", file=sys.stderr)
        return 2
    from .lifespan import LifespanFailure
    from .run import BackendUnavailable, run

    try:
        run(app, config)
    except BackendUnavailable as exc:
        print(f"asgi-core: error: {exc}", file=sys.stderr)
        return 2
    except LifespanFailure as exc:
        print(f"asgi-core: {exc}", file=sys.stderr)
        return EXIT_STARTUP_FAILED
    except OSError as exc:
        print(f"asgi-core: cannot serve on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
