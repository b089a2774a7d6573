"""Sign-in for the app: who is looking, decided before any page draws anything.

:func:`gate` is called once per run by ``app.py`` and returns the viewer's
:class:`~analysis.access.scope.Scope`, or stops the run after showing a sign-in screen. Three
modes, in this order:

1. ``[auth]`` in ``.streamlit/secrets.toml``: single sign-on through ``st.login``
   (OpenID Connect); the role comes from the role map (:mod:`analysis.access.accounts`).
2. No account yet: the local single-user mode (everything allowed) - but only for a
   browser on this computer talking to a server on this computer; anyone else sees only
   the form that creates the first administrator.
3. Otherwise: username and password; sessions end after ``idle_minutes`` without a step.

Pages call :func:`current_scope`. The rules themselves live in :mod:`analysis`.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException, StreamlitSecretNotFoundError

from analysis.access import accounts
from analysis.access.scope import LOCAL, ROLE_LABELS, PermissionDenied, Scope
from analysis.access.settings import load_settings
from analysis.storage.store import Store

SCOPE_KEY = "auth_scope"
METHOD_KEY = "auth_method"  # "password", "sso" or "local"
ACTIVITY_KEY = "auth_last_activity"
IDLE_KEY = "auth_idle_minutes"
NOTICE_KEY = "auth_notice"

LOCAL_BANNER = (
    "Local single-user mode: no accounts yet — anyone who can open this page on this "
    "computer sees everything. Create an admin account in Admin → Accounts to require "
    "sign-in."
)
_PROXY_HEADERS = ("X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "X-Real-Ip")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------
# Session state
# ---------------------------------------------------------------------------------------


def _remember(scope: Scope, method: str, idle_minutes: int) -> None:
    st.session_state[SCOPE_KEY] = scope
    st.session_state[METHOD_KEY] = method
    st.session_state[ACTIVITY_KEY] = _now()
    st.session_state[IDLE_KEY] = idle_minutes


def _forget(notice: str | None = None) -> None:
    for key in (SCOPE_KEY, METHOD_KEY, ACTIVITY_KEY, IDLE_KEY):
        st.session_state.pop(key, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice


def current_scope() -> Scope:
    """The scope :func:`gate` stored for this session; stops the page when there is none.

    Also re-checks idle expiry, so a page reached without the gate (for instance run
    on its own) never shows anything to a session that is not signed in.
    """
    scope = st.session_state.get(SCOPE_KEY)
    method = st.session_state.get(METHOD_KEY)
    if scope is not None and method != "local" and accounts.is_session_expired(
            st.session_state.get(ACTIVITY_KEY), _now(),
            st.session_state.get(IDLE_KEY, 0)):
        scope = None
    if scope is None:
        st.warning("Please sign in first: open the app's start page.",
                   icon=":material/lock:")
        try:
            # A bookmarked page opened before the server ran app.py lands here.
            st.page_link("app.py", label="Open the start page", icon=":material/login:")
        except StreamlitAPIException:
            pass  # the page runs on its own (tests): the warning says enough
        st.stop()
    return scope


def show_permission_error(error: PermissionDenied) -> None:
    """Tell the viewer politely that their role does not allow this."""
    st.warning(str(error), icon=":material/block:")


# ---------------------------------------------------------------------------------------
# Where the request comes from
# ---------------------------------------------------------------------------------------


def is_loopback_host(host: str | None) -> bool:
    """Whether a ``Host`` header value (``localhost:8501``, ``[::1]:8501``) names this
    computer."""
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


def _request_is_local() -> bool:
    """Whether this browser talks to the server from the same computer, directly.

    All must hold: the connection comes from a loopback address (``st.context.ip_address``
    is None for those), the browser asked for ``localhost``/a loopback address (so DNS
    rebinding and reverse proxies that keep the public host name fail), and no proxy
    header is present. A server behind a reverse proxy is therefore never "local".
    """
    headers = st.context.headers
    if any(headers.get(name) for name in _PROXY_HEADERS):
        return False
    return st.context.ip_address is None and is_loopback_host(headers.get("Host"))


def uses_single_sign_on() -> bool:
    """Whether people sign in through the organisation's identity provider (st.login):
    secrets.toml has an ``[auth]`` section. A secrets file that cannot be read stops the
    app (fail closed) rather than falling back to another mode."""
    try:
        return "auth" in st.secrets
    except StreamlitSecretNotFoundError as error:
        files = [Path(p) for p in st.get_option("secrets.files") or ()]
        if any(p.exists() for p in files):
            st.error(f"The secrets file could not be read, so nobody can sign in: {error}",
                     icon=":material/error:")
            st.stop()
        return False


# ---------------------------------------------------------------------------------------
# Screens
# ---------------------------------------------------------------------------------------


def _sidebar(store: Store, scope: Scope, method: str) -> None:
    with st.sidebar:
        if method == "local":
            st.warning(LOCAL_BANNER, icon=":material/warning:")
            return
        st.caption(f"Signed in as **{scope.user}** · {ROLE_LABELS[scope.role]}")
        if st.button("Sign out", icon=":material/logout:", key="auth_sign_out"):
            accounts.record_sign_out(store, scope, "signed out")
            _forget("You are signed out.")
            if method == "sso":
                st.logout()
            st.rerun()


def bootstrap_form(store: Store) -> None:
    """The form that creates the first administrator (only while no account exists)."""
    st.subheader("Create the first administrator")
    st.write(
        "No account exists yet. The first account is an administrator; after it is "
        "created everyone signs in, and the administrator creates the other accounts."
    )
    with st.form("auth_bootstrap"):
        username = st.text_input("Username")
        password = st.text_input(
            "Password", type="password",
            help=f"At least {accounts.MIN_PASSWORD_LENGTH} characters; not a common word "
                 "or a run of keys.")
        repeat = st.text_input("Repeat the password", type="password")
        submitted = st.form_submit_button("Create administrator", type="primary")
    if not submitted:
        return
    if password != repeat:
        st.error("The two passwords differ.")
        return
    try:
        accounts.create_account(store, LOCAL, username, password, "admin")
    except (ValueError, PermissionDenied) as error:
        st.error(str(error))
        return
    _forget(f"Administrator {accounts.normalize_username(username)} created. "
            "Sign in with it now.")
    st.rerun()


def _show_notice() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/info:")


def _sign_in_form(store: Store) -> None:
    st.title("Peer Program Impact")
    _show_notice()
    with st.form("auth_sign_in"):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        result = accounts.verify_sign_in(store, username, password)
        if result.ok and result.scope is not None:
            _remember(result.scope, "password", load_settings(store).idle_minutes)
            st.rerun()
        st.error(result.message, icon=":material/lock:")


# ---------------------------------------------------------------------------------------
# The gate
# ---------------------------------------------------------------------------------------


def gate(store: Store) -> Scope:
    """The viewer's scope for this run, or a sign-in screen and ``st.stop()``.

    Call once per run, before anything else is drawn (``app.py``).
    """
    if uses_single_sign_on():
        return _gate_sso(store)
    if accounts.needs_bootstrap(store):
        if _request_is_local():
            _remember(LOCAL, "local", 0)
            _sidebar(store, LOCAL, "local")
            return LOCAL
        _forget()
        st.title("Peer Program Impact")
        bootstrap_form(store)
        st.stop()
    return _gate_password(store)


def _still_signed_in(store: Store, method: str) -> tuple[Scope | None, bool]:
    """The stored scope after the idle and account checks, and whether a session of
    ``method`` has just ended (idle or deactivated; a notice says why)."""
    scope = st.session_state.get(SCOPE_KEY)
    if scope is None or st.session_state.get(METHOD_KEY) != method:
        _forget()
        return None, False
    idle = load_settings(store).idle_minutes
    if accounts.is_session_expired(st.session_state.get(ACTIVITY_KEY), _now(), idle):
        accounts.record_sign_out(store, scope, "idle")
        _forget(f"You were signed out after {idle} minutes without activity.")
        return None, True
    if method == "password":
        fresh = accounts.active_scope(store, scope.user)
        if fresh is None:
            accounts.record_sign_out(store, scope, "deactivated")
            _forget("This account is no longer active.")
            return None, True
        scope = fresh
    _remember(scope, method, idle)
    return scope, False


def _gate_password(store: Store) -> Scope:
    scope, _ = _still_signed_in(store, "password")
    if scope is None:
        _sign_in_form(store)
        st.stop()
    _sidebar(store, scope, "password")
    return scope


def _gate_sso(store: Store) -> Scope:
    if not st.user.get("is_logged_in", False):
        st.title("Peer Program Impact")
        _show_notice()
        if st.button("Sign in with your organisation account", type="primary"):
            try:
                st.login()
            except Exception as error:  # e.g. Authlib missing, provider misconfigured
                st.error(f"Single sign-on is configured but does not work: {error}")
        st.stop()
    email = st.user.get("email")
    claims = {k: v for k, v in st.user.to_dict().items() if k != "tokens"}
    scope, ended = _still_signed_in(store, "sso")
    if ended:
        st.logout()  # the identity cookie goes too: the next visit signs in afresh
        st.stop()
    if scope is None or scope.user != accounts.sso_identity(email, claims):
        try:
            scope = accounts.sso_scope(email, claims, accounts.load_role_map())
        except ValueError as error:
            st.error(str(error))
            st.stop()
        accounts.record_sso_sign_in(store, email, scope)
        if scope is None:
            st.error(f"{email or 'This account'} is not authorised to use this app. "
                     "Ask an administrator to add you to the role map.")
            st.button("Sign out", on_click=st.logout)
            st.stop()
        _remember(scope, "sso", load_settings(store).idle_minutes)
    _sidebar(store, scope, "sso")
    return scope
