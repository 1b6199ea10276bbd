"""Behind real nginx and HAProxy (Debian's), started here on loopback ports with their own
config files (the ones docs/proxies.md shows), as non-daemon children; skipped, saying why,
when the binary is missing (.ci/run installs both)."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import apps
from helpers.tls import Certificates

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the proxy exited: {proc.stderr.read() if proc.stderr else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def start(command: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_port(port, proc)
    return proc


@pytest.fixture
def run_proxy() -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def run(command: list[str], port: int) -> None:
        procs.append(start(command, port))

    yield run
    for proc in procs:
        proc.terminate()
        proc.wait(10)


NGINX_CONF = """\
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen 127.0.0.1:{port};
        location /api/ {{
            proxy_pass http://127.0.0.1:{upstream}/;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Prefix /api;
            proxy_set_header Forwarded "";
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }}
    }}
}}
"""


async def scope_echo(scope: Any, receive: Any, send: Any) -> None:
    """The scope's client, scheme, root_path, path and host header, as JSON (or over a
    WebSocket, as its first message)."""
    seen = {key: scope[key] for key in ("client", "scheme", "root_path", "path")}
    seen["host"] = dict(scope["headers"]).get(b"host", b"").decode()
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps(seen)})
        await send({"type": "websocket.close"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
def test_behind_nginx_http11_and_websocket(serve: Any, run_proxy: Any, tmp_path: Path) -> None:
    server = serve(scope_echo, proxy_headers=True)
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp_path, port=port, upstream=server.port))
    run_proxy([str(NGINX), "-c", str(conf), "-p", str(tmp_path)], port)
    seen = httpx.get(f"http://127.0.0.1:{port}/api/x", headers={"X-Forwarded-For": "6.6.6.6"})
    body = seen.json()
    # nginx appended the client's (loopback, trusted) address to its forged one: the right-most
    # untrusted hop is the forged one, which is all the proxy knows; the scheme and prefix hold.
    assert body["client"][0] == "6.6.6.6"
    assert body["scheme"] == "http"
    assert body["root_path"] == "/api"
    assert body["path"] == "/api/x"
    assert body["host"] == "127.0.0.1"
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/api/ws") as ws:
        said = json.loads(ws.recv())
    assert said["scheme"] == "ws"
    assert said["root_path"] == "/api"


HAPROXY_CONF = """\
global
    log stderr format raw local0 warning
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend plain
    bind 127.0.0.1:{port}
    default_backend app
frontend tls
    bind 127.0.0.1:{tls_port} ssl crt {pem} ca-file {ca} verify optional
    default_backend app_tls
backend app
    server app 127.0.0.1:{upstream} {send}
backend app_tls
    server app 127.0.0.1:{upstream} send-proxy-v2-ssl-cn
"""


@pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed (apt-get install haproxy)")
@pytest.mark.parametrize("send", ["send-proxy", "send-proxy-v2"])
def test_behind_haproxy_with_the_proxy_protocol(
    serve: Any, run_proxy: Any, tmp_path: Path, certs: Certificates, send: str
) -> None:
    server = serve(apps.peers, proxy_protocol=True)
    port, tls_port = free_port(), free_port()
    pem = tmp_path / "haproxy.pem"
    pem.write_text(Path(certs.certfile).read_text() + Path(certs.keyfile).read_text())
    conf = tmp_path / "haproxy.cfg"
    conf.write_text(HAPROXY_CONF.format(port=port, tls_port=tls_port, pem=pem, ca=certs.ca_file,
                                        upstream=server.port, send=send))  # fmt: skip
    run_proxy([str(HAPROXY), "-db", "-f", str(conf)], tls_port)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
        local = sock.getsockname()
    seen = json.loads(response.partition(b"\r\n\r\n")[2])
    assert seen["client"] == [local[0], local[1]]  # the client's own port, not HAProxy's
    assert seen["server"] == ["127.0.0.1", port]
    assert seen["scheme"] == "http"
    context = ssl.create_default_context(cafile=certs.ca_file)
    tls = httpx.get(f"https://127.0.0.1:{tls_port}/", verify=context).json()
    assert tls["scheme"] == "https"  # PP2_CLIENT_SSL: TLS ended at HAProxy
    assert tls["server"] == ["127.0.0.1", tls_port]
    # PP 2.2.6 from send-proxy-v2-ssl-cn: the version and the verified client's CN.
    assert tls["tls"]["tls_version"] == 0x0304 and tls["tls"]["client_cert_chain"] == []
    assert tls["tls"]["client_cert_name"] is None
    certs.client.configure_cert(context)
    tls = httpx.get(f"https://127.0.0.1:{tls_port}/", verify=context).json()
    assert tls["tls"]["client_cert_name"] == "CN=client"
    assert tls["tls"]["client_cert_error"] is None
