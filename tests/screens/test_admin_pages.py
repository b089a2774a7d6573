"""Admin pages and the sign-in gate, run through Streamlit's AppTest on a scratch store."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from analysis.access import accounts, passwords, signin
from analysis.access.local_mode import local_request_problem
from analysis.access.scope import LOCAL, Scope
from analysis.storage.store import DB_ENV, Store
from ui import auth

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "Fjord-lantern-71"
TIMEOUT = 20


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "app.duckdb"
    monkeypatch.setenv(DB_ENV, str(path))
    # argon2id at a test-friendly cost; tests/access/test_accounts.py checks the real cost.
    monkeypatch.setattr(passwords, "HASHER",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    st.cache_resource.clear()
    signin.unknown_names.clear()
    yield path
    st.cache_resource.clear()


@pytest.fixture
def seeded(db):
    """A store with one admin and one practice manager (North)."""
    with Store(db) as store:
        admin = accounts.create_account(store, LOCAL, "admin", ADMIN_PASSWORD, "admin")
        accounts.create_account(store, admin, "pm.north", "Quiet-harbour-58",
                                "practice_manager", ["North"])
    return db


def _page(name: str, scope: Scope | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "screens" / name), default_timeout=TIMEOUT)
    if scope is not None:
        at.session_state[auth.SCOPE_KEY] = scope
        at.session_state[auth.METHOD_KEY] = "password"
        at.session_state[auth.ACTIVITY_KEY] = datetime.now(UTC).replace(tzinfo=None)
        at.session_state[auth.IDLE_KEY] = 30
    return at.run()


def _audit(db):
    # The AppTest's store is cached in this process; read through the same resource.
    from ui.state import get_store
    with get_store().cursor() as cur:
        return cur.execute("SELECT username, action, outcome FROM audit_log "
                           "ORDER BY event_id").fetchall()


ADMIN = Scope("admin", None, "admin")
LEADERSHIP = Scope("leadership", None, "boss")
PRACTICE_MANAGER = Scope("practice_manager", frozenset({"North"}), "pm.north")


def test_admin_sees_and_changes_settings(seeded):
    at = _page("admin_settings.py", ADMIN)
    assert not at.exception
    group = at.number_input(key="setting_min_group_size")
    assert group.value == 5 and group.min == 3
    group.set_value(7)
    at.button[0].click().run()
    assert not at.exception
    assert any("Smallest group shown: 7 people" in s.value for s in at.success)
    from ui.state import get_store
    assert get_store().get_setting("min_group_size") == "7"
    assert ("admin", "setting", "ok") in _audit(seeded)


@pytest.mark.parametrize("page", ["admin_settings.py", "admin_accounts.py",
                                  "admin_audit.py"])
@pytest.mark.parametrize("who", [LEADERSHIP, PRACTICE_MANAGER], ids=["leadership", "pm"])
def test_non_admins_get_a_polite_refusal(seeded, page, who):
    at = _page(page, who)
    assert not at.exception
    assert len(at.warning) == 1 and "does not allow" in at.warning[0].value
    assert not at.dataframe and not at.number_input and not at.text_input
    assert (who.user, "refused") in [(r[0], r[2]) for r in _audit(seeded)]


@pytest.mark.parametrize("page", ["admin_settings.py", "admin_accounts.py",
                                  "admin_audit.py"])
def test_pages_show_nothing_without_a_session(seeded, page):
    at = _page(page, None)
    assert not at.exception
    assert "sign in" in at.warning[0].value
    assert not at.dataframe and not at.number_input


def test_admin_lists_and_creates_accounts(seeded):
    at = _page("admin_accounts.py", ADMIN)
    assert not at.exception
    listed = at.dataframe[0].value
    assert set(listed["Username"]) == {"admin", "pm.north"}
    assert "password_hash" not in listed.columns
    # In words: no raw role keys, no None, no column names of the database.
    north = listed.set_index("Username").loc["pm.north"]
    assert north["Role"] == "Practice manager" and north["Practices"] == "North"
    assert listed.set_index("Username").loc["admin", "Practices"] == "All practices"
    assert north["Last sign-in"] == "Never" and north["Status"] == "Active"
    text = listed.to_string()
    assert "None" not in text and "practice_manager" not in text and "created_at" not in text
    at.text_input[0].set_value("researcher.one")
    at.selectbox(key="create_role").set_value("researcher")
    at.text_input[1].set_value("Moss-covered-stone-33")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert any("researcher.one" in s.value for s in at.success)
    assert set(at.dataframe[0].value["Username"]) == {"admin", "pm.north", "researcher.one"}


def test_admin_reads_and_filters_the_audit_log(seeded):
    at = _page("admin_audit.py", ADMIN)
    assert not at.exception
    log = at.dataframe[0].value
    assert len(log) == 2  # the two account creations
    assert set(log["What"]) == {"Account change"} and set(log["Outcome"]) == {"Done"}
    assert "Account pm.north created" in " ".join(log["Details"])
    assert "{" not in " ".join(log["Details"]) and "None" not in log.to_string()
    at.selectbox[1].set_value("admin").run()
    assert set(at.dataframe[0].value["Who"]) == {"admin"}


def test_settings_page_speaks_in_words(seeded):
    at = _page("admin_settings.py", ADMIN)
    captions = " ".join(c.value for c in at.caption)
    assert "(1 = on)" not in captions and "0–1" not in captions
    assert "From 3 to 100 people." in captions
    assert at.toggle(key="setting_pseudonymize").label == "Pseudonymize IDs on upload"
    assert at.toggle(key="setting_pseudonymize").value is True  # on by default


# -- the gate ---------------------------------------------------------------------------


def _gated_app():
    import streamlit as st

    from ui import auth
    from ui.state import get_store

    scope = auth.gate(get_store())
    st.write(f"CONTENT for {scope.role}")


def _contents(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "CONTENT" in m.value]


def test_gate_without_accounts_off_localhost_shows_no_form_and_no_data(db):
    # AppTest has no loopback connection: exactly what a stranger's request looks like.
    at = AppTest.from_function(_gated_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert not _contents(at) and not at.sidebar.warning
    assert not at.text_input and not at.button
    assert "python -m analysis user add" in at.code[0].value
    assert not accounts.list_accounts(Store(db), LOCAL).shape[0]


def test_gate_local_mode_on_localhost(db, monkeypatch):
    monkeypatch.setattr(auth, "request_is_local", lambda: True)
    at = AppTest.from_function(_gated_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert _contents(at) == ["CONTENT for local"]
    assert any("Local single-user mode" in w.value for w in at.sidebar.warning)

    # The first admin is created on Admin → Accounts; from then on sign-in is required.
    from ui.state import get_store
    accounts.create_account(get_store(), LOCAL, "admin", ADMIN_PASSWORD, "admin")
    at.run()
    assert not _contents(at) and not at.sidebar.warning
    assert [b.label for b in at.button] == ["Sign in"]


def test_bootstrap_form_only_in_the_local_session(db, monkeypatch):
    at = AppTest.from_file(str(ROOT / "screens" / "admin_accounts.py"), default_timeout=TIMEOUT)
    at.session_state[auth.SCOPE_KEY] = LOCAL
    at.session_state[auth.METHOD_KEY] = "local"
    at.run()
    assert [b.label for b in at.button] == ["Create administrator"]
    at.text_input[0].set_value("First.Admin")
    at.text_input[1].set_value(ADMIN_PASSWORD)
    at.text_input[2].set_value(ADMIN_PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    with Store(db) as store:
        assert accounts.list_accounts(store, LOCAL)["username"].tolist() == ["first.admin"]


def test_gate_requires_sign_in_once_an_account_exists(seeded):
    at = AppTest.from_function(_gated_app, default_timeout=TIMEOUT).run()
    assert not at.exception and not _contents(at)
    at.text_input[0].set_value("pm.north")
    at.text_input[1].set_value("wrong-password-123")
    at.button[0].click().run()
    assert not _contents(at)
    assert at.error[0].value.startswith(signin.NOT_ACCEPTED)

    at.text_input[0].set_value("PM.North")
    at.text_input[1].set_value("Quiet-harbour-58")
    at.button[0].click().run()
    assert _contents(at) == ["CONTENT for practice_manager"]
    assert any("pm.north" in c.value for c in at.sidebar.caption)
    assert at.session_state[auth.SCOPE_KEY].practices == {"North"}

    # Idle past the limit: signed out, with a notice, and the sign-out is audited.
    at.session_state[auth.ACTIVITY_KEY] = (
        datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=31))
    at.run()
    assert not _contents(at)
    assert any("without activity" in i.value for i in at.info)
    assert ("pm.north", "sign_out", "ok") in _audit(seeded)


def test_gate_ends_the_session_of_a_deactivated_account(seeded):
    at = AppTest.from_function(_gated_app, default_timeout=TIMEOUT).run()
    at.text_input[0].set_value("pm.north")
    at.text_input[1].set_value("Quiet-harbour-58")
    at.button[0].click().run()
    assert _contents(at)
    from ui.state import get_store
    accounts.deactivate(get_store(), ADMIN, "pm.north")
    at.run()
    assert not _contents(at)


@pytest.mark.parametrize("headers, peer, why", [
    ({"Host": "localhost:8501", "Origin": "http://localhost:8501"}, "127.0.0.1", None),
    ({"Host": "[::1]:8501", "Origin": "http://[::1]:8501"}, "::1", None),
    ({"Host": "127.0.0.1:8501", "Origin": "http://127.0.0.1:8501"}, "127.0.0.1", None),
    # DNS rebinding: the browser asks for the attacker's name, resolved to 127.0.0.1.
    ({"Host": "rebind.attacker.example:8501",
      "Origin": "http://rebind.attacker.example:8501"}, "127.0.0.1", "Host"),
    ({"Host": "127.1:8501", "Origin": "http://127.1:8501"}, "127.0.0.1", "Host"),
    ({"Host": "localhost.:8501", "Origin": "http://localhost.:8501"}, "127.0.0.1", "Host"),
    ({"Host": "localhost:9999", "Origin": "http://localhost:9999"}, "127.0.0.1", "Host"),
    ({"Host": "localhost:8501", "Origin": "http://localhost:8501"}, "127.0.0.2", "peer"),
    ({"Host": "localhost:8501", "Origin": "http://localhost:8501"}, "10.0.0.7", "peer"),
    ({"Host": "localhost:8501", "Origin": "http://localhost:8501"}, None, "peer"),
    ({"Host": "localhost:8501", "Origin": "http://localhost:8501",
      "X-Forwarded-For": "203.0.113.9"}, "127.0.0.1", "proxy"),
    ({"Host": "localhost:8501", "Origin": "http://localhost:8501",
      "forwarded": "for=203.0.113.9"}, "127.0.0.1", "proxy"),
    ({"Host": "localhost:8501", "Origin": "http://localhost:8501",
      "X-Real-IP": "203.0.113.9"}, "127.0.0.1", "proxy"),
    ({"Host": "localhost:8501", "Origin": "http://evil.example"}, "127.0.0.1", "Origin"),
    ({"Host": "localhost:8501"}, "127.0.0.1", "Origin"),
])
def test_local_mode_only_for_a_direct_loopback_request(headers, peer, why):
    problem = local_request_problem(headers, peer, 8501)
    assert (problem is None) if why is None else (why in problem)


@pytest.mark.parametrize("host, local", [
    ("localhost:8501", True), ("127.0.0.1:8501", True), ("[::1]:8501", True),
    ("LOCALHOST", True), ("ppi.example.org", False), ("192.168.1.5:8501", False),
    ("localhost.evil.org:8501", False), ("", False), (None, False),
])
def test_loopback_host(host, local):
    assert auth.is_loopback_host(host) is local


def test_gate_with_single_sign_on_shows_only_the_provider_button(seeded):
    at = AppTest.from_function(_gated_app, default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback",
                          "cookie_secret": "x" * 32, "client_id": "id",
                          "client_secret": "secret",
                          "server_metadata_url": "https://id.example.org/.well-known/x"}
    at.run()
    assert not at.exception
    assert not _contents(at) and not at.text_input
    assert [b.label for b in at.button] == ["Sign in with your organisation account"]


def test_accounts_page_under_single_sign_on_points_to_the_role_map(seeded):
    at = AppTest.from_file(str(ROOT / "screens" / "admin_accounts.py"),
                           default_timeout=TIMEOUT)
    at.secrets["auth"] = {"client_id": "id"}
    at.session_state[auth.SCOPE_KEY] = ADMIN
    at.session_state[auth.METHOD_KEY] = "sso"
    at.session_state[auth.ACTIVITY_KEY] = datetime.now(UTC).replace(tzinfo=None)
    at.session_state[auth.IDLE_KEY] = 30
    at.run()
    assert not at.exception
    assert "role map" in at.info[0].value and not at.text_input
