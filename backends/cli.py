"""The ``asgi-core`` command (also ``python -m asgi_core``)."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, NoReturn

from asgi_core import __version__
from asgi_core.config import HTTP_CHOICES, WS_CHOICES, Config
from asgi_core.errors import ConfigError

from .config import BACKENDS, CERT_REQS, LIFESPAN_MODES, LOOPS, ServerConfig
from .importer import AppImportError, import_app
from .logs import LOG_LEVELS, configure_logging, logger
from .options import (
    OptionError,
    Spec,
    convert,
    env_name,
    file_values,
    read_config_file,
    read_env_file,
)
from .tls import ServerTLS
from .wsgi import INTERFACES

DEMO_APP = "asgi_core.demo:app"
EXIT_STARTUP_FAILED = 3


@dataclass(frozen=True, slots=True)
class Flag:
    """A command-line flag that sets the ``Config`` or ``ServerConfig`` field named ``dest``,
    also set by the environment variable ``ASGI_CORE_<DEST>`` and the file key ``dest``.

    Its type and default are those of the field's default: a bool makes ``--x/--no-x``, a
    tuple a repeatable flag.
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
    #: Parses the flag's value (each one, if repeatable), when the field's type does not.
    parse: Any = None
    #: Other names of the flag: uvicorn's, where they mean the same (``--timeout-keep-alive``).
    aliases: tuple[str, ...] = ()
    #: A ``--x/--no-x`` flag whose default is None (decided at run time).
    switch: bool = False
    #: What separates several values of a repeatable flag in its environment variable.
    env_separator: str = ","

    @property
    def flag(self) -> str:
        return self.name or "--" + self.dest.replace("_", "-")

    @property
    def env(self) -> str:
        return env_name(self.dest)

    def spec(self, defaults: dict[str, Any]) -> Spec:
        """How values of this flag are converted, whatever their source."""
        default = defaults.get(self.dest, self.default)
        repeatable = isinstance(default, tuple)
        parse = self.parse or (str if default is None or repeatable else type(default))
        return Spec(
            self.dest, default, None if self.is_switch(default) else parse,
            switch=self.is_switch(default), repeatable=repeatable, choices=self.choices,
            zero_is_off=self.zero_is_off, has_off=self.off is not None,
            separator=self.env_separator,
        )  # fmt: skip

    def is_switch(self, default: Any) -> bool:
        return self.switch or isinstance(default, bool)

    def add_to(self, group: argparse._ActionsContainer, defaults: dict[str, Any]) -> None:
        """Add the flag; argparse keeps the text (no default: ``resolve`` converts it)."""
        default = defaults.get(self.dest, self.default)
        metavar = self.flag.removeprefix("--").replace("-", "_").upper()
        if self.choices is not None:
            metavar = "{" + ",".join(self.choices) + "}"
        if self.is_switch(default):
            kind: dict[str, Any] = {"action": argparse.BooleanOptionalAction}
        elif isinstance(default, tuple):  # repeatable: each use adds one
            kind = {"action": "append", "metavar": metavar}
        else:
            kind = {"metavar": metavar}
        help = f"{self.help or ''} (default: {self.shown_default(defaults)}; env {self.env})"
        group.add_argument(self.flag, *self.aliases, dest=self.dest, help=help.strip(), **kind)
        if self.off is not None:
            group.add_argument(
                self.off, dest=self.dest, action="store_const", const=None, help="send none"
            )

    def shown_default(self, defaults: dict[str, Any]) -> str:
        """The default as the docs and --help show it."""
        default = defaults.get(self.dest, self.default)
        if isinstance(default, bool):
            return "on" if default else "off"
        if default is None:
            return "off" if self.zero_is_off else "auto" if self.switch else "none"
        if isinstance(default, tuple):
            return ", ".join(map(str, default)) or "none"
        if isinstance(default, int) and self.parse is octal:
            return oct(default)[2:]
        return repr(default) if default == "" else str(default)


def octal(text: str) -> int:
    """Permissions written in octal (660, 0o660)."""
    return int(text.removeprefix("0o"), 8)


def header(text: str) -> tuple[bytes, bytes]:
    """``--header NAME:VALUE`` as the core's (lower-case name, value) byte pair."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"expected NAME:VALUE, not {text!r}")
    return name.strip().lower().encode("latin-1"), value.strip().encode("latin-1")


#: Every option but APP, --config, --env-file and --version: (group title, group description,
#: flags); no title is the parser's own group.
FLAGS: tuple[tuple[str | None, str | None, tuple[Flag, ...]], ...] = (
    (
        None,
        None,
        (
            Flag("app_dir", "folder to import the app from", default="."),
            Flag(
                "factory",
                "APP names a callable that takes no arguments and returns the app",
                default=False,
            ),
            Flag(
                "interface",
                "what APP speaks; auto tells ASGI 2 classes and WSGI callables by their signature",
                choices=INTERFACES,
                default="auto",
            ),
            Flag(
                "wsgi_threads",
                "threads WSGI apps run in (default: CPUs + 4, at most 32, as hypercorn's pool)",
                parse=int,
            ),
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
            Flag("backend", "the I/O driver", choices=BACKENDS),
            Flag(
                "loop",
                "event loop; auto takes uvloop when installed (trio: anyio only)",
                choices=LOOPS,
            ),
            Flag(
                "lifespan",
                "on: startup must succeed; auto: used if the app supports it",
                choices=LIFESPAN_MODES,
            ),
            Flag("root_path", "mount prefix (WSGI SCRIPT_NAME), prepended to path"),
            Flag("log_level", "the server's log", choices=LOG_LEVELS, default="info"),
            Flag(
                "use_colors",
                "colour the log's level names (default: when stderr is a terminal)",
                switch=True,
            ),
            Flag("access_log", "one line per response"),
            Flag(
                "access_log_format",
                "the access line's format, with gunicorn's and hypercorn's atoms (h, r, s, st, "
                "b, M, D, {user-agent}i, {content-type}o...; see docs/logging.md)",
            ),
            Flag(
                "log_format",
                "text, or json: one JSON object per line, access records with named fields",
                choices=("text", "json"),
                default="text",
            ),
            Flag(
                "log_config",
                "logging configuration file: .json or .yaml/.yml (dictConfig), else INI "
                "(fileConfig); applied after the other log flags",
            ),
            Flag(
                "metrics_bind",
                "serve Prometheus metrics at /metrics on HOST:PORT (the metrics extra); with "
                "--workers one scrape sums every worker",
            ),
            Flag("backlog", "listen backlog"),
            Flag(
                "graceful_timeout",
                "seconds in-flight requests get after SIGINT/SIGTERM",
                aliases=("--timeout-graceful-shutdown",),
            ),
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
            Flag(
                "max_connections",
                "open connections per worker past which new ones are closed at accept; from 80 "
                "percent of it, idle keep-alive and TLS handshake waits that start get a tenth "
                "of their timeout (at least 1 s); 0: no limit",
                zero_is_off=True,
                parse=int,
            ),
            Flag(
                "keep_alive_timeout",
                "seconds before an idle keep-alive connection is closed",
                aliases=("--timeout-keep-alive",),
            ),
            Flag(
                "request_head_timeout",
                "seconds from a request's first byte to its last header (408)",
            ),
            Flag("request_body_timeout", "longest wait for body while the app waits for it (408)"),
            Flag(
                "min_request_body_rate",
                "bytes/s a request body must come at, once the grace is over (408); 0: off",
                zero_is_off=True,
            ),
            Flag(
                "min_request_body_rate_grace",
                "seconds of waiting for a body before --min-request-body-rate applies",
            ),
            Flag(
                "min_response_rate",
                "bytes/s a client must read at once writes to it have been blocked for the "
                "grace (then the connection is cut); 0: off",
                zero_is_off=True,
            ),
            Flag(
                "min_response_rate_grace",
                "seconds writes may be blocked before --min-response-rate applies",
            ),
            Flag(
                "max_request_head_size",
                "bytes of request line and headers (431)",
                aliases=("--h11-max-incomplete-event-size",),
            ),
            Flag("max_request_body_size", "bytes; 0 turns the limit off", zero_is_off=True),
            Flag(
                "max_buffered_body_size", "unread body bytes held per request before reading pauses"
            ),
            Flag("ws_max_size", "largest WebSocket message; a larger one closes with 1009"),
            Flag("ws_max_queue", "received WebSocket messages held before reading pauses"),
            Flag(
                "ws_control_frame_budget",
                "pings and pongs a WebSocket peer may send per 10 s (then it is closed with "
                "1008); 0: no limit",
                zero_is_off=True,
                parse=int,
            ),
            Flag(
                "ws_max_fragments",
                "fragments a WebSocket message may come in, plus one per 64 bytes of it (then "
                "1008); 0: no limit",
                zero_is_off=True,
                parse=int,
            ),
            Flag(
                "ws_ping_interval",
                "seconds between keepalive pings; 0 turns them off",
                zero_is_off=True,
            ),
            Flag(
                "ws_ping_timeout",
                "seconds an unanswered ping waits before close 1011; 0: forever",
                zero_is_off=True,
            ),
            Flag("ws_close_timeout", "seconds a peer has to answer our close frame"),
            Flag("ws_per_message_deflate", "permessage-deflate (RFC 7692) when a client offers it"),
            Flag(
                "http",
                "HTTP/1.1 parser: h11, or httptools (pip install 'asgi-core[fast]'); auto takes "
                "httptools when it is installed",
                choices=HTTP_CHOICES,
            ),
            Flag(
                "ws",
                "WebSockets: auto or wsproto serve them; none serves an Upgrade as plain HTTP",
                choices=WS_CHOICES,
            ),
            Flag("server_header", "value of the Server header", off="--no-server-header"),
            Flag("date_header", "a Date header on responses that lack one"),
            Flag(
                "default_headers",
                "NAME:VALUE added to every response without that header (a server one "
                "replaces --server-header); repeatable",
                name="--header",
                parse=header,
                env_separator="\n",
            ),
        ),
    ),
    (
        "HTTP/2",
        "limits per HTTP/2 connection",
        (
            Flag("http2", "serve HTTP/2 (ALPN h2, prior knowledge, Upgrade: h2c)"),
            Flag("h2_max_concurrent_streams", "streams at once (SETTINGS_MAX_CONCURRENT_STREAMS)"),
            Flag("h2_max_header_list_size", "bytes of decoded request headers"),
            Flag("h2_max_header_table_size", "bytes of HPACK dynamic table"),
            Flag("h2_connection_window_size", "request body bytes in flight on all streams"),
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
                aliases=("--ssl-certfile",),
            ),
            Flag(
                "ssl_keyfile",
                "PEM private key, when it is not in --certfile",
                name="--keyfile",
                aliases=("--ssl-keyfile",),
            ),
            Flag(
                "ssl_keyfile_password",
                "password of an encrypted --keyfile",
                name="--keyfile-password",
                aliases=("--ssl-keyfile-password",),
            ),
            Flag(
                "ssl_ca_certs",
                "PEM CA certificates to verify client certificates",
                name="--ca-certs",
                aliases=("--ssl-ca-certs",),
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
                aliases=("--ssl-ciphers",),
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


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors; an unknown option gets the closest real one."""

    def error(self, message: str) -> NoReturn:
        match = re.match(r"unrecognized arguments: (\S+)", message)
        if match is not None:
            given = match.group(1)
            close = difflib.get_close_matches(given.partition("=")[0], self._option_string_actions)
            hint = f" (did you mean {close[0]}?)" if close else ""
            what = "option" if given.startswith("-") else "argument"
            message = f"unknown {what} {given}{hint}"
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line; only the options given land in the namespace (no defaults there),
    so ``resolve`` can tell a flag from the environment, the file and the default."""
    parser = _Parser(
        prog="asgi-core",
        description=(
            "Serve an ASGI 3 application over HTTP/1.1, HTTP/2 and WebSocket. "
            "With no APP, serves a demo app. Every option can also be set by an environment "
            "variable (ASGI_CORE_PORT) or a TOML file (port = 8000); see docs/configuration.md."
        ),
        allow_abbrev=False,
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument(
        "app", nargs="?", help=f"module:attribute of the app (default: the demo app; env {APP_ENV})"
    )
    parser.add_argument("--version", action="version", version=f"asgi-core {__version__}")
    parser.add_argument(
        "--config", metavar="FILE", help="TOML file of options (default: [tool.asgi-core] of "
        "./pyproject.toml, if any); a flag or an environment variable wins over it",
    )  # fmt: skip
    parser.add_argument(
        "--env-file", metavar="FILE", help="NAME=VALUE lines added to the environment (where "
        "it has no such variable) before the options are read",
    )  # fmt: skip
    defaults = _defaults()
    for title, description, flags in FLAGS:
        group = parser if title is None else parser.add_argument_group(title, description)
        for flag in flags:
            flag.add_to(group, defaults)
    return parser


APP_ENV = "ASGI_CORE_APP"


@dataclass(frozen=True, slots=True)
class Options:
    """Everything the command line, the environment and the file decided."""

    config: ServerConfig
    app: str
    #: Values of the flags that set no field (app_dir, factory, log_level, use_colors).
    other: dict[str, Any]


def resolve(
    args: argparse.Namespace, environ: Mapping[str, str], file: tuple[str, Mapping[str, Any]]
) -> Options:
    """Each option from the first source that has it: the command line, ``environ``, the
    ``file`` (its label and table), the default; converted alike. An error names the source."""
    given = vars(args)
    label, table = file
    in_file = file_values(label, table, _file_keys())
    defaults = _defaults()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for _, _, flags in FLAGS:
        for flag in flags:
            spec = flag.spec(defaults)
            if flag.dest in given:
                raw, text, source = given[flag.dest], True, _flag_source(flag, given[flag.dest])
            elif flag.env in environ:
                raw, text = environ[flag.env], True
                source = f"{flag.env}={raw!r}"
            elif flag.dest in in_file:
                raw, text, source = in_file[flag.dest], False, f"{label}: {flag.dest}"
            else:
                values[flag.dest] = spec.default
                continue
            values[flag.dest], sources[flag.dest] = _convert(spec, raw, text, source), source
    app = given.get("app") or environ.get(APP_ENV) or table.get("app") or DEMO_APP
    return Options(_build(values, sources), app, {k: values[k] for k in _OTHER})


def _convert(spec: Spec, raw: Any, text: bool, source: str) -> Any:
    if isinstance(raw, list):  # a repeatable flag given several times
        raw = tuple(raw)
        text = False
    try:
        return convert(spec, raw, text)
    except ValueError as exc:
        raise OptionError(f"{source}: {exc}") from None


def _flag_source(flag: Flag, raw: Any) -> str:
    if isinstance(raw, bool):
        return flag.flag if raw else "--no-" + flag.flag.removeprefix("--")
    if raw is None:
        return flag.off or flag.flag
    if isinstance(raw, list):
        return " ".join(f"{flag.flag} {item}" for item in raw)
    return f"{flag.flag} {raw}"


def _build(values: dict[str, Any], sources: dict[str, str]) -> ServerConfig:
    """The configs; a ConfigError about a field is prefixed with where its value came from."""

    def taken(cls: type[Config] | type[ServerConfig]) -> dict[str, Any]:
        return {field.name: values[field.name] for field in fields(cls) if field.name in values}

    try:
        return ServerConfig(**taken(ServerConfig), protocol=Config(**taken(Config)))
    except ConfigError as exc:
        message = str(exc).removeprefix("Config.")
        named = [m for m in re.findall(r"[a-z][a-z0-9_-]*", message) if m in _BY_NAME]
        source = next((sources[_BY_NAME[m]] for m in named if _BY_NAME[m] in sources), None)
        raise OptionError(message if source is None else f"{source}: {message}") from None


def config_from_args(
    args: argparse.Namespace,
    environ: Mapping[str, str] | None = None,
    file: tuple[str, Mapping[str, Any]] = ("", {}),
) -> ServerConfig:
    """The ServerConfig of parsed arguments (and, if given, an environment and a file)."""
    return resolve(args, environ or {}, file).config


def _defaults() -> dict[str, Any]:
    return {**_field_values(ServerConfig()), **_field_values(Config())}


def _field_values(config: Config | ServerConfig) -> dict[str, Any]:
    return {field.name: getattr(config, field.name) for field in fields(config)}


def _all_flags() -> list[Flag]:
    return [flag for _, _, flags in FLAGS for flag in flags]


def _file_keys() -> dict[str, str]:
    """Keys a file may use: each field's name, and its flags' names with underscores."""
    keys: dict[str, str] = {}
    for flag in _all_flags():
        for name in (flag.flag, *flag.aliases):
            keys[name.removeprefix("--").replace("-", "_")] = flag.dest
        keys[flag.dest] = flag.dest
    return {"app": "app", **keys}


#: A field's name, or a flag's as an error message writes it (``--uds-mode``), to the field.
_BY_NAME = {
    **{flag.flag: flag.dest for flag in _all_flags()},
    **{flag.dest: flag.dest for flag in _all_flags()},
}
#: The flags that set no field.
_OTHER = tuple(flag.dest for flag in _all_flags() if flag.dest not in _defaults())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "env_file", None) is not None:
            read_env_file(args.env_file, os.environ)
        file = read_config_file(getattr(args, "config", None))
        options = resolve(args, os.environ, file)
    except OptionError as exc:
        print(f"asgi-core: error: {exc}", file=sys.stderr)
        return 2
    other = options.other
    try:
        configure_logging(
            other["log_level"],
            other["use_colors"],
            log_format=other["log_format"],
            log_config=other["log_config"],
            access_log_format=other["access_log_format"],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"asgi-core: error: logging: {exc}", file=sys.stderr)
        return 2
    if file[0]:
        logger.debug("Options from %s", file[0])
    config = options.config

    def load() -> Any:
        return import_app(
            options.app, other["app_dir"], factory=other["factory"],
            interface=other["interface"], wsgi_threads=other["wsgi_threads"],
        )  # fmt: skip

    try:
        ServerTLS.from_config(config)  # a missing or bad certificate: one line, before serving
        # Supervised workers import the app themselves (a replaced one loads the new code).
        app: Any = None if config.supervised else load()
    except (ConfigError, AppImportError) as exc:
        print(f"asgi-core: error: {exc}", file=sys.stderr)
        return 2
    return _serve(app, config, load, other["app_dir"])


def _serve_with_metrics(
    app: Any, config: ServerConfig, load: Callable[[], Any], app_dir: str
) -> int:
    """``_serve`` with ``/metrics`` on ``--metrics-bind``: here, or (with workers) in the
    supervisor over prometheus-client's multiprocess files, in a folder made and removed here."""
    from . import metrics
    from .run import require

    bind = config.metrics_bind or ""
    try:
        metrics.parse_bind(bind)
    except ValueError as exc:
        print(f"asgi-core: error: {exc}", file=sys.stderr)
        return 2
    if not config.supervised:
        require("prometheus_client", "metrics")
        metrics.serve_single(bind)
        return _serve(app, config, load, app_dir, metrics=True)
    path = metrics.prepare_multiprocess()  # before prometheus-client is imported or forked
    try:
        require("prometheus_client", "metrics")
        metrics.serve_multiprocess(bind)
        return _serve(app, config, load, app_dir, metrics=True)
    finally:
        metrics.cleanup(path)


def _serve(
    app: Any, config: ServerConfig, load: Callable[[], Any], app_dir: str, metrics: bool = False
) -> int:
    """Serve (or supervise workers); the exit status. ``metrics``: ``/metrics`` is set up."""
    from .lifespan import LifespanFailure
    from .run import BackendUnavailable, run

    try:
        if config.metrics_bind is not None and not metrics:
            return _serve_with_metrics(app, config, load, app_dir)
        if config.supervised:
            from .supervisor import supervise

            return supervise(config, load, app_dir)
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
