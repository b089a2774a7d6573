"""When the app may run as the local single-user session (no account exists yet).

Only for a browser on this computer talking straight to this server. Every one of these
must hold, or the request is not local:

* the TCP peer is a loopback address (``127.0.0.1`` or ``::1``; not ``127.0.0.2``);
* the ``Host`` header is exactly ``localhost``, ``127.0.0.1`` or ``[::1]`` with the
  server's port (a DNS-rebound name, ``127.1``, ``localhost.`` or another port fail);
* no header a reverse proxy or load balancer adds is present (``X-Forwarded-For``,
  ``Forwarded``, ``X-Real-IP``, ``Via``, ...);
* the ``Origin`` the browser sent is this same origin (``http://`` or ``https://``
  followed by that exact Host).

A server behind a reverse proxy is therefore never local: it needs accounts or single
sign-on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

#: Headers a reverse proxy or a load balancer adds (compared case-insensitively).
PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
                 "x-forwarded-port", "x-forwarded-server", "forwarded", "x-real-ip",
                 "x-client-ip", "true-client-ip", "cf-connecting-ip",
                 "x-cluster-client-ip", "fastly-client-ip", "x-original-forwarded-for",
                 "via")
#: The only names a local browser may use for this server.
LOCAL_HOST_NAMES = ("localhost", "127.0.0.1", "[::1]")
LOOPBACK_PEERS = ("127.0.0.1", "::1")


def is_loopback_host(host: str | None) -> bool:
    """Whether a ``Host`` header value (``localhost:8501``, ``[::1]:8501``) names this
    computer by a loopback address or ``localhost`` (any port)."""
    if not host:
        return False
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1:name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def local_request_problem(headers: Mapping[str, str], peer: str | None,
                          port: int) -> str | None:
    """Why a request is not local (for the log), or None when it is.

    Parameters
    ----------
    headers : mapping
        The request's headers (names in any case).
    peer : str or None
        The TCP peer's address; None when unknown (then not local: fail closed).
    port : int
        The port this server listens on.
    """
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    present = [h for h in PROXY_HEADERS if h in lowered]
    if present:
        return "proxy header " + ", ".join(present)
    if peer not in LOOPBACK_PEERS:
        return f"peer {peer!r} is not 127.0.0.1 or ::1"
    host = lowered.get("host", "")
    allowed = {f"{name}:{port}" for name in LOCAL_HOST_NAMES}
    if host not in allowed:
        return f"Host {host!r} is not localhost, 127.0.0.1 or [::1] with port {port}"
    origin = lowered.get("origin", "")
    if origin not in {f"http://{host}", f"https://{host}"}:
        return f"Origin {origin!r} is not this server"
    return None
