"""Sign-in for the app: who is looking, decided before any page draws anything.

:func:`gate` is called once per run by ``app.py`` and returns the viewer's
:class:`~analysis.access.scope.Scope`, or stops the run after showing a sign-in screen. Three
modes, in this order:

1. ``[auth]`` in ``.streamlit/secrets.toml``: single sign-on through ``st.login``
   (OpenID Connect); the role comes from the role map (:mod:`analysis.access.sso`).
2. No account yet: the local single-user mode (everything allowed) - but only for a
   browser on this computer talking directly to this server (:func:`request_is_local`).
   Anyone else sees a page saying how an administrator creates the first account on the
   command line; never a form that would let them create it.
3. Otherwise: username and password. A sign-in opens a server-side session
   (:mod:`analysis.access.sessions`) whose signed token is kept in a cookie, so a reload,
   a new tab or a bookmark keeps the session until sign-out, idle expiry or revocation;
   a bookmarked page asks for sign-in and then opens.

Pages call :func:`current_scope`. The rules themselves live in :mod:`analysis`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException, StreamlitSecretNotFoundError
from streamlit.runtime.scriptrunner import get_script_run_ctx

from analysis.access import accounts, passwords, sessions, signin, sso
from analysis.access.local_mode import is_loopback_host, local_request_problem
from analysis.access.scope import LOCAL, ROLE_LABELS, PermissionDenied, Scope
from analysis.access.settings import load_settings
from analysis.storage.store import Store

SCOPE_KEY = "auth_scope"
METHOD_KEY = "auth_method"  # "password", "sso" or "local"
ACTIVITY_KEY = "auth_last_activity"
IDLE_KEY = "auth_idle_minutes"
NOTICE_KEY = "auth_notice"
TOKEN_KEY = "auth_session_token"
CLEAR_COOKIE_KEY = "auth_clear_cookie"
NEXT_PAGE_KEY = "auth_next_page"
_PAGE_PATH = re.compile(r"[a-z0-9_-]{1,64}")

LOCAL_BANNER = (
    "Local single-user mode: no accounts yet — anyone who can open this page on this "
    "computer sees everything. Create an administrator in Admin → Accounts (or with "
    "`python -m analysis user add`) to require sign-in."
)
NO_ACCOUNT_YET = (
    "This installation has no account yet, so nobody can sign in from here. An "
    "administrator creates the first account on the server:"
)
USER_ADD_COMMAND = ("python -m analysis user add --db PATH --username NAME --role admin"
                    "   # the password is read from the first line of standard input")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------
# Session state
# ---------------------------------------------------------------------------------------


def _remember(scope: Scope, method: str, idle_minutes: int) -> None:
    st.session_state[SCOPE_KEY] = scope
    st.session_state[METHOD_KEY] = method
    st.session_state[ACTIVITY_KEY] = _now()
    st.session_state[IDLE_KEY] = idle_minutes


def _forget(notice: str | None = None) -> None:
    for key in (SCOPE_KEY, METHOD_KEY, ACTIVITY_KEY, IDLE_KEY, TOKEN_KEY):
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
    if scope is not None and method != "local" and sessions.is_session_expired(
            st.session_state.get(ACTIVITY_KEY), _now(),
            st.session_state.get(IDLE_KEY, 0)):
        scope = None
    if scope is None:
        st.warning("Please sign in first: open the app's start page.",
                   icon=":material/lock:")
        try:
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


def request_is_local() -> bool:
    """Whether this browser talks to this server from the same computer, directly
    (see :mod:`analysis.access.local_mode` for the rules)."""
    headers = {k: v for k, v in st.context.headers.items()}
    # st.context.ip_address is None for the peers 127.0.0.1 and ::1 (and when there is
    # no connection at all, but then there are no headers and the Host check fails).
    peer = st.context.ip_address or ("127.0.0.1" if headers else None)
    port = int(st.get_option("server.port"))
    return local_request_problem(headers, peer, port) is None


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
# The session cookie and the page asked for
# ---------------------------------------------------------------------------------------


def _cookie_script(value: str, max_age: int) -> None:
    """Set (or with ``max_age`` 0, clear) the session cookie in the browser.

    Streamlit has no server-side Set-Cookie for app code, so a one-line script sets it:
    path ``/``, ``SameSite=Strict`` (never sent from another site), ``Secure`` behind
    HTTPS. The token is in no URL and no page text.
    """
    secure = "; Secure" if (st.context.url or "").startswith("https://") else ""
    cookie = (f"{sessions.COOKIE_NAME}={value}; Path=/; Max-Age={max_age}; "
              f"SameSite=Strict{secure}")
    st.html(f"<script>document.cookie = {json.dumps(cookie)};</script>",
            unsafe_allow_javascript=True, width=1)


def _remember_requested_page() -> None:
    """Keep the page a bookmark or a deep link asked for, to open it after sign-in."""
    wanted = _requested_page()
    if wanted and NEXT_PAGE_KEY not in st.session_state:
        st.session_state[NEXT_PAGE_KEY] = wanted


def _requested_page() -> str | None:
    """The URL path of the page the browser asked for (``impact``), if any."""
    ctx = get_script_run_ctx()
    wanted = getattr(getattr(ctx, "pages_manager", None), "intended_page_name", None)
    return str(wanted) if wanted and _PAGE_PATH.fullmatch(str(wanted)) else None


def take_requested_page() -> str | None:
    """The URL path asked for before sign-in (once; then forgotten), for ``app.py`` to
    open with ``st.switch_page`` when the viewer's role has that page."""
    if st.session_state.get(SCOPE_KEY) is None:
        return None
    return st.session_state.pop(NEXT_PAGE_KEY, None)


# ---------------------------------------------------------------------------------------
# Screens
# ---------------------------------------------------------------------------------------


def _sidebar(store: Store, scope: Scope, method: str) -> None:
    with st.sidebar:
        if method == "local":
            st.warning(LOCAL_BANNER, icon=":material/warning:")
            return
        if method == "password" and st.session_state.get(TOKEN_KEY):
            _cookie_script(st.session_state[TOKEN_KEY], sessions.ABSOLUTE_HOURS * 3600)
        st.caption(f"Signed in as **{scope.user}** · {ROLE_LABELS[scope.role]}")
        if st.button("Sign out", icon=":material/logout:", key="auth_sign_out"):
            signin.record_sign_out(store, scope, "signed out")
            sessions.end(store, st.session_state.get(TOKEN_KEY), _now())
            _forget("You are signed out.")
            st.session_state[CLEAR_COOKIE_KEY] = True
            if method == "sso":
                st.logout()
            st.rerun()


def bootstrap_form(store: Store) -> None:
    """The form that creates the first administrator: only in the local single-user
    session (a browser on this computer), while no account exists."""
    if st.session_state.get(METHOD_KEY) != "local" or not accounts.needs_bootstrap(store):
        return
    st.subheader("Create the first administrator")
    st.write(
        "No account exists yet. The first account is an administrator; after it is "
        "created everyone signs in, and the administrator creates the other accounts."
    )
    with st.form("auth_bootstrap"):
        username = st.text_input("Username")
        password = st.text_input(
            "Password", type="password",
            help=f"At least {passwords.MIN_PASSWORD_LENGTH} characters and hard to guess: "
                 "three or four unrelated words work well.")
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
    _forget(f"Administrator {passwords.normalize_username(username)} created. "
            "Sign in with it now.")
    st.rerun()


def _show_notice() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/info:")


def _alone(screen) -> None:
    """Show ``screen`` as the only page (no sidebar menu from an earlier run) and stop."""
    _remember_requested_page()
    if st.session_state.pop(CLEAR_COOKIE_KEY, False):
        _cookie_script("", 0)
    pages = [st.Page(screen, title="Sign in", icon=":material/login:", default=True)]
    # From the session, not this run's request: a form's rerun names the page by its
    # hash, and the page must still exist for the form's values to arrive.
    wanted = st.session_state.get(NEXT_PAGE_KEY)
    if wanted:
        # The same screen at the bookmarked address: no "page not found", and the
        # address stays in the browser's bar until the page opens after sign-in.
        pages.append(st.Page(screen, title="Sign in", url_path=wanted))
    st.navigation(pages, position="hidden").run()
    st.stop()


def _sign_in_screen(store: Store) -> None:
    def sign_in() -> None:
        st.title("Peer Program Impact")
        _show_notice()
        with st.form("auth_sign_in"):
            username = st.text_input("Username", autocomplete="username")
            password = st.text_input("Password", type="password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            result = signin.verify_sign_in(store, username, password)
            if result.ok and result.scope is not None:
                idle = load_settings(store).idle_minutes
                _remember(result.scope, "password", idle)
                st.session_state[TOKEN_KEY] = sessions.start(
                    store, result.scope, "password", _now())
                st.rerun()
            st.error(result.message, icon=":material/lock:")

    _alone(sign_in)


def _no_account_screen() -> None:
    def first_account() -> None:
        st.title("Peer Program Impact")
        st.info(NO_ACCOUNT_YET, icon=":material/lock:")
        st.code(USER_ADD_COMMAND, language="bash")
        st.caption("Opened on the server itself at http://localhost (with no proxy in "
                   "between), the app runs for one person without accounts.")

    _alone(first_account)


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
        if request_is_local():
            _remember(LOCAL, "local", 0)
            _sidebar(store, LOCAL, "local")
            return LOCAL
        _forget()
        _no_account_screen()
    return _gate_password(store)


def _still_signed_in(store: Store, method: str) -> tuple[Scope | None, bool]:
    """The stored scope after the idle and account checks, and whether a session of
    ``method`` has just ended (idle or deactivated; a notice says why)."""
    scope = st.session_state.get(SCOPE_KEY)
    if scope is None or st.session_state.get(METHOD_KEY) != method:
        _forget()
        return None, False
    idle = load_settings(store).idle_minutes
    if sessions.is_session_expired(st.session_state.get(ACTIVITY_KEY), _now(), idle):
        signin.record_sign_out(store, scope, "idle")
        sessions.end(store, st.session_state.get(TOKEN_KEY), _now())
        _forget(f"You were signed out after {idle} minutes without activity.")
        st.session_state[CLEAR_COOKIE_KEY] = True
        return None, True
    if method == "password":
        token = st.session_state.get(TOKEN_KEY)
        fresh = sessions.resume(store, token, _now(), idle)
        if fresh is None:
            signin.record_sign_out(store, scope, "ended")
            _forget("Your session has ended (signed out elsewhere, the password was "
                    "reset or the account is no longer active). Please sign in again.")
            st.session_state[CLEAR_COOKIE_KEY] = True
            return None, True
        scope = fresh.scope
    _remember(scope, method, idle)
    return scope, False


def _resume_from_cookie(store: Store) -> Scope | None:
    """A session kept in the browser's cookie (a reload, a new tab, a bookmark)."""
    token = st.context.cookies.get(sessions.COOKIE_NAME)
    if not token or st.session_state.get(CLEAR_COOKIE_KEY):
        return None
    idle = load_settings(store).idle_minutes
    resumed = sessions.resume(store, token, _now(), idle)
    if resumed is None or resumed.method != "password":
        return None
    _remember(resumed.scope, "password", idle)
    st.session_state[TOKEN_KEY] = resumed.token
    return resumed.scope


def _gate_password(store: Store) -> Scope:
    scope, ended = _still_signed_in(store, "password")
    if scope is None and not ended:
        scope = _resume_from_cookie(store)
    if scope is None:
        _sign_in_screen(store)  # stops the run
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
    if scope is None or scope.user != sso.sso_identity(email, claims):
        try:
            scope = sso.sso_scope(email, claims, sso.load_role_map())
        except ValueError as error:
            st.error(str(error))
            st.stop()
        sso.record_sso_sign_in(store, email, scope)
        if scope is None:
            st.error(f"{email or 'This account'} is not authorised to use this app. "
                     "Ask an administrator to add you to the role map.")
            st.button("Sign out", on_click=st.logout)
            st.stop()
        _remember(scope, "sso", load_settings(store).idle_minutes)
    _sidebar(store, scope, "sso")
    return scope


__all__ = ["current_scope", "gate", "is_loopback_host", "request_is_local",
           "take_requested_page", "uses_single_sign_on", "bootstrap_form",
           "show_permission_error"]
