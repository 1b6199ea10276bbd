"""Certificates for TLS tests (trustme): one CA, a server certificate, a client certificate."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme


@dataclass(frozen=True)
class Certificates:
    ca: trustme.CA
    ca_file: str
    certfile: str
    keyfile: str
    server_pem: str
    client: trustme.LeafCert


def make_certificates(folder: Path) -> Certificates:
    """A fresh CA and its certificates, written as PEM files into ``folder``."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert(
        "client@example.org", common_name="client", organization_unit_name="Tests, TLS"
    )
    paths = {name: str(folder / f"{name}.pem") for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(paths["ca"])
    server.cert_chain_pems[0].write_to_path(paths["cert"])
    server.private_key_pem.write_to_path(paths["key"])
    return Certificates(
        ca=ca,
        ca_file=paths["ca"],
        certfile=paths["cert"],
        keyfile=paths["key"],
        server_pem=server.cert_chain_pems[0].bytes().decode(),
        client=client,
    )


def tls_options(certs: Certificates, **extra: Any) -> dict[str, Any]:
    return {"ssl_certfile": certs.certfile, "ssl_keyfile": certs.keyfile, **extra}


def client_context(certs: Certificates, *, cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context()
    certs.ca.configure_trust(context)
    if cert:
        certs.client.configure_cert(context)
    return context
