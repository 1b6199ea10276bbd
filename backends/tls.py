"""TLS for every driver: the server's ``SSLContext``, the ASGI ``tls`` extension's dict, and
the handshake and records over memory BIOs (``TLSEngine``; ``TLSStream`` for task drivers).

TLS stays in the drivers: the core only hears ``scheme="https"``, the ALPN protocol the
handshake chose, and the dict asgiref's specs/tls.rst describes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import ssl
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, cast

from asgi_core import connection as core_connection
from asgi_core.errors import ConfigError
from asgi_core.proxy import ProxyTLS

from .config import ServerConfig
from .driver import Waiter
from .logs import logger
from .runtime import Stream

#: TLS 1.2 suites: ephemeral key exchange and AEAD only, as RFC 9113 section 9.2.2 asks of
#: HTTP/2 (TLS 1.3 suites are all AEAD and are configured apart by OpenSSL).
DEFAULT_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"

#: ``SSLObject.version()`` names to the protocol's own version numbers (ASGI tls.rst).
TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}

#: OpenSSL's long attribute names to the descriptors RFC 4514 section 3 lists, plus the
#: numeric OIDs of common attributes it does not (RFC 4514 section 2.3).
RFC4514_TYPES = {
    "commonName": "CN",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
    "emailAddress": "1.2.840.113549.1.9.1",
    "serialNumber": "2.5.4.5",
}

CERT_REQS = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}

_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)

SSLConnection = ssl.SSLObject | ssl.SSLSocket
#: A subject as ``getpeercert()`` gives it: RDNs, each a sequence of (type, value) pairs.
Subject = Sequence[Sequence[tuple[str, str]]]


class ServerTLS:
    """A server's TLS: the context every handshake uses and what each ``tls`` dict repeats.

    ``reload()`` (on SIGHUP, or when ``ssl_reload_interval`` sees the files change) swaps in a
    context made from the files as they are now: new handshakes use it, open connections keep
    theirs, and a broken new certificate is logged while the old one stays.
    """

    __slots__ = ("__weakref__", "cipher_suites", "config", "context", "handshake_timeout",
                 "server_cert")  # fmt: skip

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.handshake_timeout = config.tls_handshake_timeout
        self._load()
        _SERVED.add(self)

    def _load(self) -> None:
        config = self.config
        assert config.ssl_certfile is not None
        context = create_context(config)
        #: The server's certificate as PEM (the first one in the certificate file).
        self.server_cert: str | None = _first_certificate(config.ssl_certfile)
        #: OpenSSL cipher names to their 16-bit TLS cipher suite numbers.
        self.cipher_suites = {c["name"]: c["id"] & 0xFFFF for c in context.get_ciphers()}
        self.context = context

    @classmethod
    def from_config(cls, config: ServerConfig) -> ServerTLS | None:
        """The TLS of ``config``, or None without a certificate; ConfigError names a bad file."""
        if config.ssl_certfile is None:
            return None
        return cls(config)

    def reload(self) -> bool:
        """Load the certificate files again; False (logged) keeps the current ones."""
        try:
            self._load()
        except ConfigError as exc:
            logger.error("TLS certificates not reloaded, the current ones stay: %s", exc)
            return False
        logger.info("TLS certificates reloaded from %s", self.config.ssl_certfile)
        return True

    def files_state(self) -> tuple[tuple[int, int, int], ...]:
        """What ``ssl_reload_interval`` compares: each file's inode, size and mtime."""
        config = self.config
        states = []
        for path in (config.ssl_certfile, config.ssl_keyfile, config.ssl_ca_certs):
            if path is not None:
                try:
                    info = os.stat(path)
                except OSError:
                    states.append((0, 0, 0))
                else:
                    states.append((info.st_ino, info.st_size, info.st_mtime_ns))
        return tuple(states)

    def watch(self, interval: float) -> Callable[[], None]:
        """Reload whenever the files change, checked every ``interval`` seconds in a thread
        (so on every backend alike); returns the function that stops the watch."""
        stop = threading.Event()

        def run() -> None:
            seen = self.files_state()
            while not stop.wait(interval):
                now = self.files_state()
                if now != seen:
                    seen = now
                    self.reload()

        threading.Thread(target=run, name="asgi-core TLS watch", daemon=True).start()
        return stop.set

    def alpn(self, conn: SSLConnection) -> str:
        """The protocol the handshake chose; a client that offered none speaks HTTP/1.1."""
        return conn.selected_alpn_protocol() or "http/1.1"

    def extension(self, conn: SSLConnection) -> dict[str, Any]:
        """The ASGI ``tls`` extension's dict for a connection whose handshake is done."""
        leaf = conn.getpeercert(binary_form=True)
        parsed = conn.getpeercert() if leaf else None  # empty unless verified
        subject = parsed.get("subject") if parsed else None
        cipher = conn.cipher()
        version = conn.version()
        return {
            "server_cert": self.server_cert,
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der) for der in _peer_chain(conn)],
            "client_cert_name": rfc4514_name(cast(Subject, subject)) if subject else None,
            # A certificate that fails verification fails the handshake: none gets this far.
            "client_cert_error": None,
            "tls_version": None if version is None else TLS_VERSIONS.get(version),
            "cipher_suite": None if cipher is None else self.cipher_suites.get(cipher[0]),
        }


#: Every ServerTLS in use, for ``reload_certificates``.
_SERVED: weakref.WeakSet[ServerTLS] = weakref.WeakSet()


def watch_certificates(tls: ServerTLS | None, config: ServerConfig) -> Callable[[], None]:
    """Start ``ssl_reload_interval``'s watch, if asked for; returns what stops it."""
    if tls is None or config.ssl_reload_interval is None:
        return lambda: None
    return tls.watch(config.ssl_reload_interval)


def reload_certificates() -> None:
    """SIGHUP: every server of this process reloads its TLS certificates."""
    served = list(_SERVED)
    if not served:
        logger.info("SIGHUP received: no TLS certificates to reload (--workers replaces workers)")
    for tls in served:
        tls.reload()


def create_context(config: ServerConfig) -> ssl.SSLContext:
    """A server context: TLS 1.2 or later, no compression or renegotiation (RFC 9113 section
    9.2.1), and ALPN offering what the core speaks, in its order of preference."""
    certfile = config.ssl_certfile
    if certfile is None:
        raise ConfigError("TLS needs a certificate file")
    for kind, path in (
        ("certificate", certfile),
        ("key", config.ssl_keyfile),
        ("CA certificates", config.ssl_ca_certs),
    ):
        if path is not None:
            _check_readable(kind, path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    try:
        context.set_ciphers(config.ssl_ciphers or DEFAULT_CIPHERS)
    except ssl.SSLError as exc:
        raise ConfigError(f"no cipher matches {config.ssl_ciphers!r}: {exc}") from None
    context.set_alpn_protocols(alpn_protocols(config))
    keyfile = config.ssl_keyfile
    password = config.ssl_keyfile_password
    try:
        context.load_cert_chain(
            certfile,
            keyfile,
            password if password is not None else _no_password(keyfile or certfile),
        )
    except ssl.SSLError as exc:
        files = repr(certfile) if keyfile is None else f"{certfile!r} with key {keyfile!r}"
        raise ConfigError(
            f"cannot load the TLS certificate {files} (not PEM, a key that does not match, "
            f"or a wrong password): {exc}"
        ) from None
    if config.ssl_ca_certs is not None:
        try:
            context.load_verify_locations(config.ssl_ca_certs)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"cannot load the CA certificates {config.ssl_ca_certs!r}: {exc}"
            ) from None
    context.verify_mode = CERT_REQS[config.ssl_cert_reqs]
    return context


def proxied_extension(proxied: ProxyTLS) -> dict[str, Any]:
    """The ASGI ``tls`` dict for TLS a proxy ended (PROXY v2 PP2_TYPE_SSL): no certificate
    travels in the header, only the version, the cipher's OpenSSL name and the client's CN."""
    name = proxied.common_name
    return {
        "server_cert": None,
        "client_cert_chain": [],
        "client_cert_name": None if name is None else rfc4514_name(((("commonName", name),),)),
        # PP 2.2.6: ``verify`` is non-zero unless a certificate was sent and verified.
        "client_cert_error": None
        if name is None or proxied.verified
        else "the proxy did not verify the client certificate",
        "tls_version": TLS_VERSIONS.get(proxied.version or ""),
        "cipher_suite": _openssl_cipher_suites().get(proxied.cipher or ""),
    }


@functools.cache
def _openssl_cipher_suites() -> dict[str, int]:
    """Every OpenSSL cipher name this OpenSSL knows to its 16-bit TLS cipher suite number."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with contextlib.suppress(ssl.SSLError):  # a build without security level 0 keeps its own
        context.set_ciphers("ALL:@SECLEVEL=0")
    return {c["name"]: c["id"] & 0xFFFF for c in context.get_ciphers()}


def alpn_protocols(config: ServerConfig) -> list[str]:
    """What the core speaks, read from it at run time, in its order of preference; "h2" only
    while ``Config.http2`` is on."""
    http2 = config.protocol.http2
    return [name for name in core_connection.SUPPORTED_ALPN if name != "h2" or http2]


def rfc4514_name(subject: Subject) -> str:
    """A subject from ``getpeercert()`` as an RFC 4514 string (last RDN first)."""
    return ",".join(
        "+".join(f"{RFC4514_TYPES.get(kind, kind)}={_escape(value)}" for kind, value in rdn)
        for rdn in reversed(subject)
    )


def _escape(value: str) -> str:
    """RFC 4514 section 2.4: special characters anywhere, '#' or space first, space last."""
    last = len(value) - 1
    return "".join(
        "\\00"
        if ch == "\0"
        else "\\" + ch
        if ch in '"+,;<>\\' or (i == 0 and ch in "# ") or (i == last and ch == " ")
        else ch
        for i, ch in enumerate(value)
    )


def _peer_chain(conn: SSLConnection) -> list[bytes]:
    """The client's certificate, then the chain it sent (Python 3.13+ can tell the chain)."""
    leaf = conn.getpeercert(binary_form=True)
    if not leaf:
        return []
    get_chain = getattr(conn, "get_unverified_chain", None)
    chain: list[bytes] = [bytes(der) for der in get_chain()] if get_chain is not None else []
    if not chain or chain[0] != leaf:
        chain.insert(0, leaf)
    return chain


def _first_certificate(certfile: str) -> str | None:
    """The first certificate of a PEM file (the server's own), normalised through DER."""
    with open(certfile, encoding="ascii", errors="replace") as file:
        match = _PEM_CERTIFICATE.search(file.read())
    if match is None:
        return None
    return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(match.group()))


def _check_readable(kind: str, path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot read the TLS {kind} file {path!r}: {exc.strerror}") from None


def _no_password(keyfile: str) -> Callable[[], str]:
    """Stands in for a missing password: OpenSSL would otherwise prompt on the terminal."""

    def refuse() -> str:
        raise ConfigError(
            f"the TLS key in {keyfile!r} is encrypted: give its password (--keyfile-password)"
        )

    return refuse


class TLSEngine:
    """The server side of one TLS connection over memory BIOs, sans-io: records in, plaintext
    out and back, with no socket, so every driver shares the same handshake, read and close."""

    __slots__ = ("_incoming", "_outgoing", "ssl")

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl = context.wrap_bio(self._incoming, self._outgoing, server_side=True)

    def receive_data(self, data: bytes) -> None:
        """Bytes the peer sent (records, whole or in pieces)."""
        self._incoming.write(data)

    def do_handshake(self) -> bool:
        """Advance the handshake with what was received: True once it is done, False while it
        needs more. Raises ``ssl.SSLError`` when it fails (the alert is in ``data_to_send``)."""
        try:
            self.ssl.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def read(self, size: int) -> bytes | None:
        """Up to ``size`` bytes of plaintext; None until more is received; b"" once the peer
        has closed (close_notify) or broken the stream (a bad record)."""
        try:
            return self.ssl.read(size)
        except ssl.SSLWantReadError:
            return None
        except ssl.SSLError:
            return b""

    @property
    def may_read_more(self) -> bool:
        """Whether ``read`` could return more without new input: False means it would only
        ask for more (OpenSSL reads no further than the record it is on)."""
        return self._incoming.pending > 0 or self.ssl.pending() > 0

    def write(self, data: bytes) -> bool:
        """Encrypt ``data`` into ``data_to_send``: True, or False once nothing can be sent."""
        try:
            self.ssl.write(data)
        except ssl.SSLError:
            return False
        return True

    def close_notify(self) -> None:
        """Queue our close_notify (RFC 8446 section 6.1) without awaiting the peer's."""
        # unwrap() writes ours, then raises SSLWantReadError: the peer's has not come.
        with contextlib.suppress(ssl.SSLError):
            self.ssl.unwrap()

    @property
    def has_data_to_send(self) -> bool:
        return self._outgoing.pending > 0

    def data_to_send(self) -> bytes:
        """What the peer must be sent now (handshake messages, records, alerts)."""
        return self._outgoing.read()


class TLSStream(TLSEngine):
    """TLS over a runtime's raw socket through memory BIOs (the trio and anyio drivers).

    The socket is read only when ``receive`` is called, so read backpressure survives TLS; one
    task at a time sends what the ``SSLObject`` produced, so records leave in order.
    """

    __slots__ = ("_event", "_raw", "_sending")

    def __init__(
        self,
        context: ssl.SSLContext,
        raw: Stream,
        event: Callable[[], Waiter],
    ) -> None:
        super().__init__(context)
        self._raw = raw
        self._event = event
        self._sending: Waiter | None = None  # set when the sender in progress is done

    @classmethod
    async def accept(
        cls,
        context: ssl.SSLContext,
        raw: Stream,
        event: Callable[[], Waiter],
        read_size: int,
    ) -> TLSStream | None:
        """The server's handshake on ``raw``: the stream, or None if the client left first.

        Raises ``ssl.SSLError`` (after sending the alert) when the handshake fails. The
        ``SSLObject`` is made only once the client has sent something: a connection that
        never does costs no TLS state. The caller bounds the time this takes.
        """
        data = await raw.receive(read_size)
        if not data:
            return None
        stream = cls(context, raw, event)
        while True:
            stream.receive_data(data)
            try:
                done = stream.do_handshake()
            except ssl.SSLError:
                await stream._flush()  # the alert tells the client why
                raise
            if not await stream._flush():
                return None
            if done:
                return stream
            data = await raw.receive(read_size)
            if not data:
                return None

    async def receive(self, size: int) -> bytes:
        """Up to ``size`` bytes of plaintext; b"" once the peer has closed or gone."""
        while True:
            data = self.read(size)
            if data is not None:
                return data
            if self.has_data_to_send and not await self._flush():  # e.g. a KeyUpdate answer
                return b""
            data = await self._raw.receive(size)
            if not data:
                return b""
            self.receive_data(data)

    async def send(self, data: bytes) -> bool:
        """Encrypt and send ``data``: True, or False when the peer is gone."""
        return self.write(data) and await self._flush()

    async def send_close_notify(self) -> None:
        """Tell the peer no more data follows (RFC 8446 section 6.1) without awaiting its own."""
        self.close_notify()
        await self._flush()

    async def _flush(self) -> bool:
        """Send what the ``SSLObject`` wrote, one sender at a time."""
        while self._sending is not None:
            await self._sending.wait()
        if not self.has_data_to_send:
            return True
        self._sending = done = self._event()
        try:
            while self.has_data_to_send:
                if not await self._raw.send(self.data_to_send()):
                    return False
        finally:
            self._sending = None
            done.set()
        return True
