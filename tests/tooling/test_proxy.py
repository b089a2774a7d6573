"""The nginx configuration for serving a team (``tooling/proxy.py``), and the app behind it.

The tests that run nginx skip where nginx or openssl is missing, except under ``CI=true``
(CI installs them).
"""

from __future__ import annotations

import gzip
import re
import shutil
import ssl
import subprocess
import tempfile
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from analysis.__main__ import main as cli
from analysis.access.local_mode import PROXY_HEADERS, local_request_problem
from analysis.access.sessions import COOKIE_NAME
from tests.factories import CHROMIUM, require_caddy, require_chromium, require_nginx
from tooling.app_server import running_app
from tooling.browser_bench import CHART
from tooling.proxy import (
    FORWARDED,
    ProxySettings,
    app_upload_limit_mb,
    caddy_binary,
    caddy_config,
    closed_folder,
    nginx_binary,
    nginx_main_config,
    nginx_server_config,
    running_proxy,
    self_signed_certificate,
    streamlit_static_dir,
)

TEAM = ProxySettings("ppi.example.org", 8501, 443, Path("/etc/ssl/ppi.pem"),
                     Path("/etc/ssl/ppi.key"), upload_mb=500)
PASSWORD = "Quiet-harbor-4471-proxy"


def test_a_team_proxy_speaks_tls_and_http2_and_sends_http_to_https():
    config = nginx_server_config(TEAM)
    assert "listen 443 ssl http2;" in config and "listen [::]:443 ssl http2;" in config
    assert 'ssl_certificate "/etc/ssl/ppi.pem";' in config
    assert 'ssl_certificate_key "/etc/ssl/ppi.key";' in config
    assert "return 301 https://$host$request_uri;" in config
    assert "proxy_pass http://127.0.0.1:8501;" in config
    assert "proxy_set_header Upgrade $http_upgrade;" in config  # the websocket
    # HSTS on the pages and on the files (an add_header in a location drops the server's)
    assert config.count("Strict-Transport-Security") == 2


def test_the_proxy_serves_every_script_file_streamlits_page_names():
    config = nginx_server_config(TEAM)
    alias = Path(re.search(r'alias "([^"]+)";', config).group(1))
    assert alias == streamlit_static_dir() / "static"
    index = (streamlit_static_dir() / "index.html").read_text(encoding="utf-8")
    named = re.findall(r'(?:src|href)="\./static/([^"]+)"', index)
    assert named, "Streamlit's index.html names no ./static/ file: the layout changed"
    assert all((alias / name).is_file() for name in named)
    assert 'Cache-Control "public, max-age=31536000, immutable"' in config


def test_behind_the_proxy_the_local_mode_never_applies():
    config = nginx_server_config(TEAM)
    local = {"host": "127.0.0.1:8501", "origin": "http://127.0.0.1:8501"}
    assert local_request_problem(local, "127.0.0.1", 8501) is None
    for name, value in FORWARDED:
        assert f"proxy_set_header {name} {value};" in config
        assert name.lower() in PROXY_HEADERS
        assert local_request_problem({**local, name: "203.0.113.9"}, "127.0.0.1", 8501)


def test_uploads_as_large_as_the_app_accepts():
    assert app_upload_limit_mb() == 500  # .streamlit/config.toml: server.maxUploadSize
    assert "client_max_body_size 500m;" in nginx_server_config(TEAM)


def test_a_name_other_people_open_needs_a_certificate_and_nothing_odd_gets_in():
    with pytest.raises(ValueError, match="without TLS"):
        ProxySettings("ppi.example.org")
    with pytest.raises(ValueError, match="both"):
        ProxySettings("ppi.example.org", cert=Path("/etc/ssl/ppi.pem"))
    with pytest.raises(ValueError, match="host name"):
        ProxySettings("ppi.example.org; include /etc/passwd", cert=Path("/c"), key=Path("/k"))
    with pytest.raises(ValueError, match="quotes"):
        ProxySettings("ppi.example.org", cert=Path('/c";'), key=Path("/k"))
    with pytest.raises(ValueError, match="65535"):
        ProxySettings("127.0.0.1", 0)
    loopback = nginx_server_config(ProxySettings("127.0.0.1", 8501, 8443))
    assert "listen 127.0.0.1:8443;" in loopback and "ssl" not in loopback


def test_warns_when_nginx_could_not_read_the_files():
    # under /tmp (open to all), not pytest's own folder, which is closed to others
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        base.chmod(0o755)
        inner = base / "private" / "static"
        inner.mkdir(parents=True)
        (base / "private").chmod(0o700)
        assert closed_folder(inner) == base / "private"
        (base / "private").chmod(0o755)
        assert closed_folder(inner) is None
    finally:
        shutil.rmtree(base)


def test_under_a_base_path_every_location_is_below_it():
    config = nginx_server_config(replace(TEAM, base_path="/ppi"))
    locations = re.findall(r"location (=? ?\S+) \{", config)
    assert locations == ["= /ppi", "/ppi/static/", "/ppi/"]
    assert "return 301 /ppi/;" in config
    assert "# The app: streamlit run app.py --server.address 127.0.0.1 --server.port 8501 " \
        "--server.baseUrlPath ppi" in config
    whole = nginx_server_config(TEAM)
    assert re.findall(r"location (=? ?\S+) \{", whole) == ["/static/", "/"]
    assert "baseUrlPath" not in whole
    for odd in ("ppi", "/ppi/", "/a b", "/ppi;", "/../etc", "/p{x}", "//ppi", "/ppi\n"):
        with pytest.raises(ValueError, match="base-path"):
            replace(TEAM, base_path=odd)
    assert replace(TEAM, base_path="/teams/ppi-2.v1").base_path


def test_command_line_prints_the_configuration(capsys):
    assert cli(["proxy-config", "--server-name", "ppi.example.org", "--cert", "/c.pem",
                "--key", "/k.pem", "--app-port", "8600"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("map $http_upgrade $connection_upgrade")
    assert "server_name ppi.example.org;" in out and "proxy_pass http://127.0.0.1:8600;" in out
    assert cli(["proxy-config", "--server-name", "ppi.example.org"]) == 2
    assert "without TLS" in capsys.readouterr().err
    assert cli(["proxy-config", "--server-name", "ppi.example.org", "--cert", "/c.pem",
                "--key", "/k.pem", "--base-path", "/ppi/"]) == 0
    assert "location /ppi/ {" in capsys.readouterr().out
    assert cli(["proxy-config", "--server-name", "ppi.example.org", "--cert", "/c.pem",
                "--key", "/k.pem", "--base-path", "/a;b"]) == 2


def test_nginx_accepts_the_configuration(tmp_path):
    require_nginx()
    for settings in (TEAM, ProxySettings("127.0.0.1", 8501, 8443),
                     replace(TEAM, base_path="/ppi")):
        config = nginx_main_config(nginx_server_config(settings), tmp_path)
        # nginx -t reads the certificate: check the team's with a throwaway one
        config = config.replace("/etc/ssl/ppi.pem", str(_certificate(tmp_path)[0]))
        config = config.replace("/etc/ssl/ppi.key", str(_certificate(tmp_path)[1]))
        path = tmp_path / "nginx.conf"
        path.write_text(config, encoding="utf-8")
        checked = subprocess.run([str(nginx_binary()), "-t", "-c", str(path), "-p", str(tmp_path)],
                                 capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert = folder / "cert.pem"
    return (cert, folder / "key.pem") if cert.exists() else self_signed_certificate(folder)


@pytest.mark.browser
def test_the_app_behind_the_proxy(tmp_path):
    """Through nginx (TLS): Streamlit's files come from nginx with a year's cache; with no
    account yet the page says how to make one (the local mode never applies behind a
    proxy); once one exists, a signed-in person gets the Overview over the proxied
    websocket, with a ``Secure`` session cookie."""
    require_nginx()
    require_chromium()
    from playwright.sync_api import sync_playwright

    from analysis.access.accounts import create_account
    from analysis.access.scope import LOCAL
    from analysis.storage.store import Store

    db = tmp_path / "app.duckdb"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            with running_app({"PPI_DB": str(db)}, tmp_path / "streamlit.log") as (_, port), \
                    running_proxy(port, tmp_path / "nginx") as proxy:
                _static_files_come_from_the_proxy(proxy.url)
                tab = _tab(browser)
                tab.goto(proxy.url)
                tab.get_by_text("This installation has no account yet").wait_for()
                assert tab.locator(CHART).count() == 0
                assert tab.get_by_role("button", name="Sign in").count() == 0
            with Store(db) as store:
                create_account(store, LOCAL, "ada", PASSWORD, "admin")
            with running_app({"PPI_DB": str(db)}, tmp_path / "streamlit2.log") as (_, port), \
                    running_proxy(port, tmp_path / "nginx2") as proxy:
                tab = _tab(browser)
                tab.goto(proxy.url)
                tab.get_by_label("Username").fill("ada")
                tab.get_by_label("Password", exact=True).fill(PASSWORD)
                tab.get_by_role("button", name="Sign in").click()
                tab.locator(CHART).first.wait_for(state="visible")
                session = [c for c in tab.context.cookies() if c["name"] == COOKIE_NAME]
                assert session and session[0]["secure"]
        finally:
            browser.close()


@pytest.mark.browser
def test_the_app_under_a_base_path_behind_the_proxy(tmp_path):
    """Under /ppi (the app run with ``server.baseUrlPath``): nginx serves the files below
    it, the bare path goes to the app's page, and the page talks to the app over the
    proxied websocket there."""
    require_nginx()
    require_chromium()
    from playwright.sync_api import sync_playwright

    db = tmp_path / "app.duckdb"
    with running_app({"PPI_DB": str(db)}, tmp_path / "streamlit.log",
                     base_url_path="ppi") as (_, port), \
            running_proxy(port, tmp_path / "nginx", base_path="/ppi") as proxy:
        assert proxy.url.endswith("/ppi")
        _static_files_come_from_the_proxy(proxy.url)
        unverified = ssl._create_unverified_context()  # our own throwaway certificate
        with urllib.request.urlopen(proxy.url, context=unverified) as answer:
            assert answer.url == proxy.url + "/" and answer.status == 200
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                tab = _tab(browser)
                tab.goto(proxy.url + "/")
                tab.get_by_text("This installation has no account yet").wait_for()
            finally:
                browser.close()


def test_a_caddy_site_block_for_a_team():
    team = ProxySettings("ppi.example.org", 8501, 443, upload_mb=500, acme=True)
    config = caddy_config(team)
    assert "\nppi.example.org {" in config and "tls " not in config  # Caddy's own certificate
    assert "reverse_proxy 127.0.0.1:8501 {" in config and "max_size 500MiB" in config
    assert "handle /static/* {" in config and "handle /* {" in config
    assert f'root * "{streamlit_static_dir()}"' in config
    assert 'Cache-Control "public, max-age=31536000, immutable"' in config
    assert "Strict-Transport-Security" in config and "admin off" not in config
    under = caddy_config(replace(team, base_path="/ppi"))
    assert "redir /ppi /ppi/ 308" in under and "uri strip_prefix /ppi" in under
    assert "handle /ppi/static/* {" in under and "handle /ppi/* {" in under
    own = caddy_config(TEAM)
    assert 'tls "/etc/ssl/ppi.pem" "/etc/ssl/ppi.key"' in own
    with pytest.raises(ValueError, match="without TLS"):
        ProxySettings("ppi.example.org")  # nginx, or Caddy told not to get a certificate


def test_caddy_accepts_the_configuration(tmp_path):
    require_caddy()
    cert, key = _certificate(tmp_path)
    for settings, standalone in (
            (ProxySettings("ppi.example.org", 8501, 443, acme=True, base_path="/ppi"), False),
            (ProxySettings("127.0.0.1", 8501, 8443, cert, key), True),
            (ProxySettings("127.0.0.1", 8501, 8080), True)):
        path = tmp_path / "Caddyfile"
        path.write_text(caddy_config(settings, standalone=standalone), encoding="utf-8")
        checked = subprocess.run(
            [str(caddy_binary()), "validate", "--config", str(path), "--adapter", "caddyfile"],
            capture_output=True, text=True,
            env={"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path),
                 "XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)})
        assert checked.returncode == 0, checked.stderr[-2000:]


def test_command_line_prints_a_caddyfile(capsys):
    assert cli(["proxy-config", "--server", "caddy", "--server-name", "ppi.example.org",
                "--base-path", "/ppi"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Peer Program Impact behind Caddy")
    assert "ppi.example.org {" in out and "--server.baseUrlPath ppi" in out


@pytest.mark.browser
def test_the_app_under_a_base_path_behind_caddy(tmp_path):
    """The same through Caddy (TLS, under /ppi): Streamlit's files from Caddy, the page
    from the app over the proxied websocket, the local mode off."""
    require_caddy()
    require_chromium()
    from playwright.sync_api import sync_playwright

    db = tmp_path / "app.duckdb"
    with running_app({"PPI_DB": str(db)}, tmp_path / "streamlit.log",
                     base_url_path="ppi") as (_, port), \
            running_proxy(port, tmp_path / "caddy", base_path="/ppi", server="caddy") as proxy:
        _static_files_come_from_the_proxy(proxy.url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                tab = _tab(browser)
                tab.goto(proxy.url)
                tab.get_by_text("This installation has no account yet").wait_for()
            finally:
                browser.close()


def _tab(browser):
    tab = browser.new_context(ignore_https_errors=True).new_page()
    tab.set_default_timeout(60_000)
    return tab


def _static_files_come_from_the_proxy(url: str) -> None:
    unverified = ssl._create_unverified_context()  # our own throwaway certificate
    index = urllib.request.urlopen(url, context=unverified).read().decode()
    script = re.search(r'src="\./static/(js/[^"]+)"', index).group(1)
    request = urllib.request.Request(f"{url}/static/{script}",
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, context=unverified) as answer:
        # Streamlit's own server sends its script files uncompressed (and the proxy puts
        # its name on what it forwards too): gzip is what says the proxy served the file.
        assert answer.headers["Content-Encoding"] == "gzip"
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert gzip.decompress(answer.read()) == \
            (streamlit_static_dir() / "static" / script).read_bytes()
