"""The Web Connector endpoint over https with its own certificate and key (target.tls_cert / tls_key): the Web
Connector refuses plain http for any host but localhost, so an endpoint reached over a network needs this or a
reverse proxy (docs/deploy.md)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import urllib.request

import pytest
from connex_quickbooks_desktop.service import serve

from connex.errors import ConfigError


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a throw-away certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def _wsdl(url: str, cafile=None) -> bytes:
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    with urllib.request.urlopen(url + "?wsdl", timeout=10, context=context) as answer:
        return answer.read()


def test_endpoint_serves_https_with_the_configured_certificate(config, certificate):
    cert, key = certificate
    server = serve({**config, "tls_cert": str(cert), "tls_key": str(key)})
    try:
        assert server.url.startswith("https://localhost:")
        assert b"<title>Connex Linnworks Sync</title>" in _wsdl(server.url, cafile=cert)
        with pytest.raises(OSError):  # plain http is not answered
            _wsdl(server.url.replace("https://", "http://"))
    finally:
        server.stop()


def test_tls_config_errors(config, certificate, tmp_path):
    cert, key = certificate
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        serve({**config, "tls_cert": str(cert)})
    with pytest.raises(ConfigError, match="cannot read"):
        serve({**config, "tls_cert": str(tmp_path / "missing.pem"), "tls_key": str(key)})
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(ConfigError, match="tls_cert/tls_key"):
        serve({**config, "tls_cert": str(tmp_path / "junk.pem"), "tls_key": str(key)})
