"""A TLS-terminating proxy in front of one gunicorn, as a cloud balancer runs it: a real nginx listening with
HTTPS on a free loopback port (a throwaway self-signed certificate for 127.0.0.1), passing the Host the browser
sent and ``X-Forwarded-Proto: https`` to the app, which ``settings.prod`` believes (SECURE_PROXY_SSL_HEADER).

Everything it writes (certificate, key, config, pid, error log) lives in the directory it is given; the
workers never touch it (request bodies and responses stay in memory), so a private 0700 pytest directory works
even when nginx drops its workers' privileges.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.nginx import NginxProcess, nginx_binary
from tests.support.servers import free_port, require

CONFIG = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body_temp;
    proxy_temp_path {dir}/proxy_temp;
    fastcgi_temp_path {dir}/fastcgi_temp;
    uwsgi_temp_path {dir}/uwsgi_temp;
    scgi_temp_path {dir}/scgi_temp;
    client_max_body_size 128k;
    client_body_buffer_size 128k;
    proxy_max_temp_file_size 0;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def _binary(name: str, *fallbacks: str) -> str | None:
    return shutil.which(name) or next((path for path in fallbacks if Path(path).exists()), None)


class TlsProxy(NginxProcess):
    def __init__(self, upstream_port: int, workdir: Path):
        self.nginx = nginx_binary()
        self.openssl = _binary("openssl", "/usr/bin/openssl")
        require(self.nginx is not None, "nginx is not installed")
        require(self.openssl is not None, "openssl is not installed (it makes the proxy's test certificate)")
        self.dir = workdir
        self.port = free_port()
        self.upstream_port = upstream_port

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def certificate(self) -> str:
        """What a client trusts to verify the proxy (requests' ``verify=``)."""
        return str(self.dir / "cert.pem")

    def start(self) -> TlsProxy:
        subprocess.run([self.openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(self.dir / "key.pem"), "-out", self.certificate],
                       check=True, capture_output=True, timeout=30)
        conf = self.dir / "nginx.conf"
        conf.write_text(CONFIG.format(dir=self.dir, port=self.port, upstream=self.upstream_port))
        self.launch([self.nginx, "-c", str(conf), "-p", str(self.dir), "-e", str(self.dir / "error.log")],
                    f"{self.url}/healthz", message="the TLS proxy to answer", verify=self.certificate)
        return self

    def stop(self) -> None:
        self.stop_process()
