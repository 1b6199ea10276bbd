"""TLSEngine, the sans-io TLS every driver uses, against an ssl client in memory: the handshake
and records cut at any byte, close_notify both ways, and failures that leave an alert."""

from __future__ import annotations

import ssl

import pytest
from helpers.tls import Certificates, client_context

from asgi_core.backends import ServerConfig
from asgi_core.backends.tls import TLSEngine, create_context

REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"x" * 40_000  # three records


class Pair:
    """A client ``SSLObject`` and a ``TLSEngine`` joined by hand, ``piece`` bytes at a time."""

    def __init__(self, certs: Certificates, piece: int | None = None) -> None:
        config = ServerConfig(ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile)
        self.engine = TLSEngine(create_context(config))
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.client = client_context(certs).wrap_bio(
            self.incoming, self.outgoing, server_hostname="127.0.0.1"
        )
        self.piece = piece

    def to_server(self) -> bytes | None:
        """Deliver the client's output; the plaintext the engine then yields, if any."""
        data = self.outgoing.read()
        plaintext = b""
        step = self.piece or max(1, len(data))
        for start in range(0, len(data), step):
            self.engine.receive_data(data[start : start + step])
            while chunk := self.engine.read(65536):
                plaintext += chunk
        return plaintext or None

    def to_client(self) -> None:
        self.incoming.write(self.engine.data_to_send())

    def handshake(self) -> None:
        """Run both sides to the end, the engine stepping once per piece."""
        done = False
        while True:
            try:
                self.client.do_handshake()
                client_done = True
            except ssl.SSLWantReadError:
                client_done = False
            data = self.outgoing.read()
            step = self.piece or max(1, len(data))
            for start in range(0, len(data), step):
                self.engine.receive_data(data[start : start + step])
                done = self.engine.do_handshake()
            self.to_client()
            if client_done and done:
                return


@pytest.mark.parametrize("piece", [None, 1, 7, 1000])
def test_handshake_and_records_cut_anywhere(certs: Certificates, piece: int | None) -> None:
    """RFC 8446 section 5.1: records may arrive in any pieces; the engine waits (None) for
    the rest and yields the same plaintext however the bytes were cut."""
    pair = Pair(certs, piece)
    pair.handshake()
    assert pair.engine.ssl.version() == "TLSv1.3"
    assert pair.engine.read(65536) is None  # nothing yet: more must be received
    pair.client.write(REQUEST)
    assert pair.to_server() == REQUEST
    assert pair.engine.write(b"HTTP/1.1 200 OK\r\n\r\n")
    pair.to_client()
    assert pair.client.read(65536) == b"HTTP/1.1 200 OK\r\n\r\n"


def test_the_clients_close_notify_reads_as_eof(certs: Certificates) -> None:
    """RFC 8446 section 6.1: after the peer's close_notify, read returns b"" (end of data),
    and our own close_notify then completes the closure."""
    pair = Pair(certs)
    pair.handshake()
    pair.client.write(b"last words")
    with pytest.raises(ssl.SSLWantReadError):
        pair.client.unwrap()
    assert pair.to_server() == b"last words"
    assert pair.engine.read(65536) == b""
    pair.engine.close_notify()
    assert pair.engine.has_data_to_send
    pair.to_client()
    pair.client.unwrap()  # the server's close_notify arrived: no exception


def test_our_close_notify_ends_the_clients_data_cleanly(certs: Certificates) -> None:
    """RFC 8446 section 6.1: ``close_notify`` queues the alert without waiting for the peer's;
    the client reads b"" rather than a truncation error."""
    pair = Pair(certs)
    pair.handshake()
    assert pair.engine.write(b"bye")
    pair.engine.close_notify()
    pair.to_client()
    assert pair.client.read(65536) == b"bye"
    assert pair.client.read(65536) == b""


def test_a_broken_client_hello_fails_the_handshake_with_an_alert(certs: Certificates) -> None:
    """RFC 8446 section 6.2: a handshake record that is not a ClientHello fails the handshake,
    and the fatal alert telling the client why is left to send."""
    pair = Pair(certs)
    pair.engine.receive_data(b"\x16\x03\x01\x00\x05hello")
    with pytest.raises(ssl.SSLError):
        pair.engine.do_handshake()
    alert = pair.engine.data_to_send()
    assert alert[:1] == b"\x15" and alert[5:6] == b"\x02"  # an alert record, level fatal


def test_a_forged_record_reads_as_the_end(certs: Certificates) -> None:
    """RFC 8446 section 5.2: a record that fails to decrypt is fatal; read reports the end of
    the stream (b"") and writing is refused afterwards."""
    pair = Pair(certs)
    pair.handshake()
    pair.engine.receive_data(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)
    assert pair.engine.read(65536) == b""
    assert not pair.engine.write(b"more")


def test_may_read_more_is_false_only_when_read_would_wait(certs: Certificates) -> None:
    """``may_read_more`` lets a driver skip the read that would only ask for more input: it is
    True while a record, or part of one, is still buffered, and False once all is read."""
    pair = Pair(certs)
    pair.handshake()
    pair.client.write(b"one")
    pair.client.write(b"two")
    records = pair.outgoing.read()
    pair.engine.receive_data(records[:-3])  # the second record lacks its last bytes
    assert pair.engine.read(65536) == b"one"
    assert pair.engine.may_read_more
    assert pair.engine.read(65536) is None
    pair.engine.receive_data(records[-3:])
    assert pair.engine.read(65536) == b"two"
    assert not pair.engine.may_read_more
    assert pair.engine.read(65536) is None
    with pytest.raises(ssl.SSLWantReadError):
        pair.client.unwrap()
    pair.engine.receive_data(pair.outgoing.read())
    assert pair.engine.may_read_more
    assert pair.engine.read(65536) == b""
