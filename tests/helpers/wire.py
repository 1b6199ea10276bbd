"""A small, strict HTTP/1.1 response parser for checking the bytes a server wrote."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunked: bool = False

    def header(self, name: bytes) -> bytes | None:
        values = [v for n, v in self.headers if n.lower() == name]
        assert len(values) <= 1, f"{name!r} appears {len(values)} times"
        return values[0] if values else None

    def header_names(self) -> list[bytes]:
        return [n.lower() for n, _ in self.headers]


def _parse_fields(block: bytes) -> list[tuple[bytes, bytes]]:
    fields = []
    for line in block.split(b"\r\n"):
        if line:
            name, sep, value = line.partition(b":")
            assert sep, f"bad header line {line!r}"
            fields.append((name, value.strip()))
    return fields


def parse_responses(data: bytes, *, head_requests: int = 0) -> tuple[list[Response], bytes]:
    """Parse every complete response in ``data``; return them and the unparsed rest.

    Informational (1xx) responses are returned too. The first ``head_requests`` final
    responses are taken as answers to HEAD (no body whatever the headers say).
    """
    responses: list[Response] = []
    rest = data
    finals = 0
    while rest:
        end = rest.find(b"\r\n\r\n")
        if end < 0:
            break
        head, after = rest[:end], rest[end + 4 :]
        status_line, _, header_block = head.partition(b"\r\n")
        version, status, reason = [*status_line.split(b" ", 2), b""][:3]
        assert version in (b"HTTP/1.1", b"HTTP/1.0"), status_line
        response = Response(int(status), reason, _parse_fields(header_block))
        code = response.status
        if 100 <= code < 200:
            responses.append(response)
            rest = after
            continue
        is_head = finals < head_requests
        finals += 1
        te = response.header(b"transfer-encoding")
        length = response.header(b"content-length")
        if is_head or code in (204, 304):
            rest = after
        elif te is not None:
            assert te.lower() == b"chunked", te
            response.chunked = True
            chunked_rest = _read_chunked(response, after)
            if chunked_rest is None:
                return responses, rest
            rest = chunked_rest
        elif length is not None:
            size = int(length)
            if len(after) < size:
                break
            response.body, rest = after[:size], after[size:]
        else:  # delimited by close
            response.body, rest = after, b""
        responses.append(response)
    return responses, rest


def _read_chunked(response: Response, data: bytes) -> bytes | None:
    """Read a chunked body (and its trailers) into ``response``: what follows it, or None
    while it is incomplete."""
    body = bytearray()
    while True:
        line_end = data.find(b"\r\n")
        if line_end < 0:
            return None
        size = int(data[:line_end].split(b";")[0], 16)
        data = data[line_end + 2 :]
        if size == 0:
            trailer_end = data.find(b"\r\n\r\n") if not data.startswith(b"\r\n") else -2
            if trailer_end == -2:
                data = data[2:]
            elif trailer_end < 0:
                return None
            else:
                response.trailers = _parse_fields(data[:trailer_end])
                data = data[trailer_end + 4 :]
            break
        if len(data) < size + 2:
            return None
        body += data[:size]
        assert data[size : size + 2] == b"\r\n"
        data = data[size + 2 :]
    response.body = bytes(body)
    return data
