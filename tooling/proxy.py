"""The reverse proxy for serving a team: an nginx configuration made for this installation.

``python -m analysis proxy-config --server-name ppi.example.org --cert FULLCHAIN --key KEY``
prints the ``server`` blocks to put in nginx's ``sites-available`` (README, "Serving a
team"). They

- terminate TLS and speak HTTP/2, so a browser fetches the ~125 script files of a first
  visit over one connection instead of queueing them on six;
- serve Streamlit's own frontend files (``/static/``, content-hashed names) from the
  installed package with a year-long immutable cache and gzip, instead of the app's Python
  server answering each in turn on the event loop every viewer's page is sent from;
- forward everything else (pages, the websocket ``/_stcore/stream``, health) to the app on
  loopback with the forwarding headers, one more reason the local single-user mode never
  applies behind the proxy (the public Host and Origin are the others);
- accept uploads up to the app's own limit (``server.maxUploadSize``);
- with ``--base-path /ppi``, serve the app under that path (beside other sites on the same
  name), the app then run with ``--server.baseUrlPath ppi`` (the configuration's first
  lines give the app's command line).

:func:`running_proxy` starts nginx with such a configuration in front of a running app
(for the browser bench and the tests).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shutil
import ssl
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tooling.app_server import ROOT, free_port, stop, wait_healthy

#: The headers the proxy adds to every request it forwards (each one the local single-user
#: mode refuses: ``analysis.access.local_mode.PROXY_HEADERS``).
FORWARDED = (("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
             ("X-Forwarded-Proto", "$scheme"),
             ("X-Forwarded-Host", "$host"))
#: File types Streamlit's frontend build holds, for the static location's own type map
#: (a standalone nginx then needs no ``mime.types`` of the system's).
STATIC_TYPES = {"application/javascript": "js mjs", "text/css": "css", "font/woff2": "woff2",
                "font/woff": "woff", "font/ttf": "ttf", "image/svg+xml": "svg",
                "image/png": "png", "image/gif": "gif", "image/jpeg": "jpg jpeg",
                "application/json": "json map", "application/wasm": "wasm",
                "text/plain": "txt"}
START_SECONDS = 20
#: Names for a proxy on this computer alone: no TLS needed, listening on loopback only.
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_UNQUOTABLE = re.compile(r'["\\\n\r]')
#: A base path: segments of letters, digits and ``._~-``, each after one slash.
_BASE_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]+)+")


def streamlit_static_dir() -> Path:
    """The installed Streamlit's frontend build (its ``static`` folder)."""
    import streamlit  # noqa: PLC0415 - only the configuration needs to know where it is

    return Path(streamlit.__file__).resolve().parent / "static"


def app_upload_limit_mb(config: Path = ROOT / ".streamlit" / "config.toml") -> int:
    """``server.maxUploadSize`` of the app's configuration (Streamlit's default, 200 MB,
    when it is not set)."""
    try:
        settings = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return 200
    return int(settings.get("server", {}).get("maxUploadSize", 200))


@dataclass(frozen=True)
class ProxySettings:
    """What the configuration is made for.

    Attributes
    ----------
    server_name : the name people open (the certificate's name).
    app_port : the port the app listens on, on loopback (``streamlit run --server.port``).
    listen_port : the port nginx listens on (443 with TLS).
    cert, key : the TLS certificate chain and key; both None only for a proxy on loopback
        (the tests and the bench), never for a team.
    static_dir : Streamlit's frontend build (:func:`streamlit_static_dir`).
    upload_mb : the largest request body, the app's upload limit.
    base_path : the path the app is served under (``/ppi``), or ``""`` for the whole
        site; the app's ``server.baseUrlPath`` is the same without its first slash.
    acme : the proxy gets and renews the certificate itself (Caddy), so ``cert`` and
        ``key`` may be left out for any name.
    """

    server_name: str
    app_port: int = 8501
    listen_port: int = 443
    cert: Path | None = None
    key: Path | None = None
    static_dir: Path | None = None
    upload_mb: int = 200
    base_path: str = ""
    acme: bool = False

    def __post_init__(self) -> None:
        # Written into the configuration as they are: nothing that could end a directive.
        if not _HOST_NAME.fullmatch(self.server_name):
            raise ValueError(f"--server-name {self.server_name!r}: give a host name such as "
                             "ppi.example.org")
        for port in (self.app_port, self.listen_port):
            if not 0 < port < 65536:
                raise ValueError(f"port {port}: give a number from 1 to 65535")
        if any(p is not None and _UNQUOTABLE.search(str(p)) for p in (self.cert, self.key)):
            raise ValueError("--cert and --key: give paths without quotes or line breaks")
        if (self.cert is None) != (self.key is None):
            raise ValueError("give both --cert and --key, or neither")
        if self.base_path and (not _BASE_PATH.fullmatch(self.base_path)
                               or {".", ".."} & set(self.base_path.split("/"))):
            raise ValueError(f"--base-path {self.base_path!r}: give a path such as /ppi "
                             "(letters, digits, . _ ~ -; no slash at the end)")
        if self.cert is None and not self.acme and self.server_name not in LOOPBACK_NAMES:
            raise ValueError("without TLS the proxy may only serve 127.0.0.1 or localhost: "
                             "give --cert and --key for a name other people open")


def app_command(settings: ProxySettings) -> str:
    """The command line the app runs with behind this proxy."""
    base = f" --server.baseUrlPath {settings.base_path[1:]}" if settings.base_path else ""
    return (f"streamlit run app.py --server.address 127.0.0.1 "
            f"--server.port {settings.app_port}{base}")


def nginx_server_config(settings: ProxySettings) -> str:
    """The nginx ``server`` blocks for ``settings`` (for the ``http`` context)."""
    base = settings.base_path
    # The base path without its slash, to the app's own page.
    bare = (f"    location = {base} {{\n        return 301 {base}/;\n    }}\n\n"
            if base else "")
    static = (settings.static_dir or streamlit_static_dir()) / "static"
    types = " ".join(f"{mime} {ext};" for mime, ext in STATIC_TYPES.items())
    forwarded = "\n".join(f"        proxy_set_header {name} {value};" for name, value in FORWARDED)
    # A proxy for this computer alone (the tests, the bench) listens on loopback only.
    loopback = settings.server_name in LOOPBACK_NAMES
    addresses = ["127.0.0.1:"] if loopback else ["", "[::]:"]
    if settings.cert is not None:
        # "listen ... http2" as nginx 1.22 (Debian 12) reads it; 1.25+ accepts it with a
        # deprecation notice.
        listen = "".join(f"    listen {address}{settings.listen_port} ssl http2;\n"
                         for address in addresses)
        listen += (f'    ssl_certificate "{settings.cert}";\n'
                   f'    ssl_certificate_key "{settings.key}";\n'
                   "    ssl_protocols TLSv1.2 TLSv1.3;\n")
        # Repeated in the static location: one add_header there drops the server's.
        hsts = '        add_header Strict-Transport-Security "max-age=31536000" always;\n'
        listen += hsts[4:]
        redirect = "" if loopback else (
            "server {\n    listen 80;\n    listen [::]:80;\n"
            f"    server_name {settings.server_name};\n"
            "    return 301 https://$host$request_uri;\n}\n\n")
    else:
        listen = f"    listen 127.0.0.1:{settings.listen_port};\n"
        redirect = hsts = ""
    return f"""# Peer Program Impact behind nginx (made by: python -m analysis proxy-config).
# The app: {app_command(settings)}
{redirect}server {{
{listen}    server_name {settings.server_name};
    client_max_body_size {settings.upload_mb}m;

{bare}    # Streamlit's frontend files: content-hashed names, so cached for a year and served
    # here rather than by the app's Python server.
    location {base}/static/ {{
        alias "{static}/";
        types {{ {types} }}
        add_header Cache-Control "public, max-age=31536000, immutable";
{hsts}        gzip on;
        gzip_types application/javascript text/css application/json image/svg+xml;
    }}

    # Pages, the websocket and health: to the app on loopback. The forwarding headers
    # keep the local single-user mode off behind the proxy.
    location {base}/ {{
        proxy_pass http://127.0.0.1:{settings.app_port};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
{forwarded}
        proxy_read_timeout 1d;
        proxy_buffering off;
    }}
}}
"""


def caddy_config(settings: ProxySettings, *, standalone: bool = False) -> str:
    """The same proxy as :func:`nginx_server_config`, as a Caddyfile site block.

    Caddy gets and renews a certificate for ``server_name`` itself and sends HTTP to
    HTTPS, unless ``cert`` and ``key`` are given; it forwards the websocket and sets the
    ``X-Forwarded-*`` headers on its own. ``standalone`` adds the global options a proxy
    on loopback runs with (no admin endpoint, no port 80): the tests and the bench.
    """
    base = settings.base_path
    static = settings.static_dir or streamlit_static_dir()
    name, port = settings.server_name, settings.listen_port
    # Sizes in MiB, as Streamlit's server.maxUploadSize and nginx's "m" count them
    # (Caddy's "MB" is 10^6 bytes).
    https = settings.cert is not None or settings.acme
    tls = f'    tls "{settings.cert}" "{settings.key}"\n' if settings.cert is not None else ""
    if not https:
        address = f"http://{name}:{port}"
    else:
        address = name if port == 443 else f"{name}:{port}"
    head = ("{\n    admin off\n    auto_https disable_redirects\n    skip_install_trust\n}\n\n"
            if standalone else "")
    bare = f"    redir {base} {base}/ 308\n" if base else ""
    strip = f"        uri strip_prefix {base}\n" if base else ""
    hsts = '    header Strict-Transport-Security "max-age=31536000"\n' if https else ""
    return f"""# Peer Program Impact behind Caddy (made by: python -m analysis proxy-config --server caddy).
# The app: {app_command(settings)}
{head}{address} {{
{tls}{hsts}    request_body {{
        max_size {settings.upload_mb}MiB
    }}
{bare}
    # Streamlit's frontend files: content-hashed names, so cached for a year and served
    # here rather than by the app's Python server.
    handle {base}/static/* {{
{strip}        root * "{static}"
        header Cache-Control "public, max-age=31536000, immutable"
        encode gzip
        file_server
    }}

    # Pages, the websocket and health: to the app on loopback. Caddy adds the forwarding
    # headers, which keep the local single-user mode off behind the proxy.
    handle {base}/* {{
        reverse_proxy 127.0.0.1:{settings.app_port} {{
            flush_interval -1
        }}
    }}
}}
"""


def nginx_main_config(server: str, prefix: Path) -> str:
    """A whole nginx configuration around ``server`` with every file under ``prefix``
    (a proxy run without the system's nginx set-up: the tests and the bench)."""
    temp = "\n".join(f"    {name}_temp_path {prefix / name};"
                     for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, workers read the package files as root too (under /root they are not
    # readable by nginx's default unprivileged user).
    user = "user root;\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    sendfile on;
{temp}
    {connection_upgrade_map()}{server}}}
"""


def connection_upgrade_map() -> str:
    """The ``map`` the server blocks rely on, for nginx's ``http`` context (Debian's
    ``nginx.conf`` does not define it)."""
    return "map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n"


def self_signed_certificate(folder: Path, name: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throwaway certificate and key for ``name`` (an IP address) made with ``openssl``."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=IP:{name}"],
                   check=True, capture_output=True)
    return cert, key


def nginx_binary() -> str | None:
    """nginx's path (Debian puts it in /usr/sbin, which a user's PATH may lack)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def caddy_binary() -> str | None:
    """caddy's path, or None."""
    return shutil.which("caddy")


def nginx_available() -> bool:
    """Whether nginx (and openssl, for its certificate) can be run here."""
    return nginx_binary() is not None and shutil.which("openssl") is not None


def spki_sha256(cert: Path) -> str:
    """The base64 SHA-256 of a certificate's public key, as Chromium's
    ``--ignore-certificate-errors-spki-list`` takes it."""
    public = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"],
                            check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=public,
                         check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


@dataclass(frozen=True)
class RunningProxy:
    """A proxy :func:`running_proxy` started: its URL, and the Chromium flags that make
    the browser trust its throwaway certificate. (Told only to ignore certificate errors,
    Chromium caches nothing from the site, so a returning visit would not be one.)"""

    url: str
    chromium_args: tuple[str, ...] = ()


@contextmanager
def running_proxy(app_port: int, folder: Path, tls: bool = True, base_path: str = "",
                  server: str = "nginx") -> Iterator[RunningProxy]:
    """nginx (or ``server="caddy"``) in front of the app on ``app_port`` (on loopback,
    with a throwaway certificate when ``tls``; under ``base_path``, for an app run with
    that ``server.baseUrlPath``); yields it running, its URL with the base path, and
    always stops it again."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cert, key = self_signed_certificate(folder) if tls else (None, None)
    settings = ProxySettings("127.0.0.1", app_port, port, cert, key,
                             upload_mb=app_upload_limit_mb(), base_path=base_path)
    log = folder / "error.log"
    if server == "caddy":
        conf = folder / "Caddyfile"
        conf.write_text(caddy_config(settings, standalone=True), encoding="utf-8")
        command = [str(caddy_binary()), "run", "--config", str(conf), "--adapter", "caddyfile"]
        # Caddy keeps its state under XDG_DATA_HOME/XDG_CONFIG_HOME: here, not in ~.
        env = {**os.environ, "XDG_DATA_HOME": str(folder), "XDG_CONFIG_HOME": str(folder)}
    else:
        conf = folder / "nginx.conf"
        conf.write_text(nginx_main_config(nginx_server_config(settings), folder),
                        encoding="utf-8")
        command = [str(nginx_binary()), "-c", str(conf), "-p", str(folder)]
        env = None
    with log.open("a") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}{base_path}"
    trust = (f"--ignore-certificate-errors-spki-list={spki_sha256(cert)}",) if cert else ()
    unverified = ssl._create_unverified_context()  # noqa: S323 - our own throwaway certificate
    try:
        wait_healthy(url, process, log, START_SECONDS, server, unverified)
        yield RunningProxy(url, trust)
    finally:
        stop(process)


# ---------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server-name", required=True,
                        help="the name people open, e.g. ppi.example.org")
    parser.add_argument("--cert", type=Path, help="TLS certificate chain (PEM)")
    parser.add_argument("--key", type=Path, help="TLS private key (PEM)")
    parser.add_argument("--app-port", type=int, default=8501,
                        help="the port the app listens on, on 127.0.0.1 (default 8501)")
    parser.add_argument("--listen-port", type=int, default=443,
                        help="the port nginx listens on (default 443)")
    parser.add_argument("--server", choices=("nginx", "caddy"), default="nginx",
                        help="the proxy to configure: nginx (server blocks for "
                             "sites-available) or caddy (a Caddyfile site block; Caddy gets "
                             "the certificate itself unless --cert and --key are given)")
    parser.add_argument("--base-path", default="",
                        help="serve the app under this path, e.g. /ppi (run the app with "
                             "--server.baseUrlPath ppi); default: the whole site")


def closed_folder(folder: Path) -> Path | None:
    """The first folder on the way to ``folder`` that users other than its owner may not
    enter (nginx's workers run as such a user), or None when all of them may."""
    for part in reversed((folder, *folder.parents)):
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return part
        except OSError:
            return part
    return None


def run_command(args: argparse.Namespace) -> int:
    """Print the configuration (``server`` blocks and the ``map`` they need); warn on
    standard error when nginx's workers could not read Streamlit's files."""
    caddy = args.server == "caddy"
    try:
        settings = ProxySettings(args.server_name, args.app_port, args.listen_port,
                                 args.cert, args.key, upload_mb=app_upload_limit_mb(),
                                 base_path=args.base_path.rstrip("/"), acme=caddy)
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    sys.stdout.write(caddy_config(settings) if caddy else
                     connection_upgrade_map() + "\n" + nginx_server_config(settings))
    closed = closed_folder(streamlit_static_dir() / "static")
    if closed is not None:
        print(f"Warning: {closed} is closed to other users, so nginx (www-data) cannot read "
              "Streamlit's files there: install the app in a folder others may read "
              "(e.g. a virtual environment under /opt).", file=sys.stderr)
    return 0
