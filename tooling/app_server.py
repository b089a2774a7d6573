"""``streamlit run app.py`` on a free loopback port, for the browser tests and the browser bench.

One place starts the app the way a person would (headless, no usage statistics, bound to
127.0.0.1), waits for its health endpoint and always stops it again.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen, log: Path, start_seconds: float,
                 name: str = "streamlit", context: ssl.SSLContext | None = None) -> None:
    """Wait until ``url``'s health check answers (the app, or a proxy in front of it);
    a ``RuntimeError`` quoting the end of ``log`` when ``process`` exits or time runs out."""
    def tail() -> str:
        return log.read_text()[-3000:] if log.exists() else ""

    deadline = time.monotonic() + start_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{tail()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2,
                                        context=context) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{name} did not answer within {start_seconds:g} s:\n{tail()}")


def stop(process: subprocess.Popen) -> None:
    """Terminate ``process`` and wait for it (killed when it does not end in 10 s)."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def running_app(env: Mapping[str, str], log: Path, start_seconds: float = 45,
                base_url_path: str = "") -> Iterator[tuple[str, int]]:
    """The app running with ``env`` added to this process's environment; yields (URL, port).

    Parameters
    ----------
    env : extra environment, e.g. ``{"PPI_DB": "/tmp/app.duckdb"}``.
    log : file that receives the server's output (quoted when it fails to start).
    start_seconds : how long the server may take to answer its health check.
    base_url_path : Streamlit's ``server.baseUrlPath`` (e.g. ``ppi``): the URL then ends
        with it.
    """
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false",
             *(("--server.baseUrlPath", base_url_path) if base_url_path else ())],
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **env}, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}" + (f"/{base_url_path}" if base_url_path else "")
    try:
        wait_healthy(url, process, log, start_seconds)
        yield url, port
    finally:
        stop(process)
