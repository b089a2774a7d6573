"""Accounts and sign-in: hashing, delays, scopes, refusals, single sign-on, idle expiry."""

import io
import logging
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher

from analysis.access import accounts, passwords, sessions, signin, sso
from analysis.access.accounts import create_account, list_accounts
from analysis.access.scope import LOCAL, PermissionDenied, Scope, require
from analysis.access.sessions import is_session_expired
from analysis.access.signin import retry_delay, verify_sign_in
from analysis.access.sso import sso_scope
from analysis.storage.store import Store

ADMIN_PASSWORD = "Fjord-lantern-71"
PM_PASSWORD = "Quiet-harbour-58"
T0 = datetime(2025, 3, 1, 9, 0, 0)


PRODUCTION_HASHER = passwords.HASHER
#: The same algorithm at a test-friendly cost (the production cost is checked below).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch):
    monkeypatch.setattr(passwords, "HASHER", FAST_HASHER)
    signin.unknown_names.clear()
    yield
    signin.unknown_names.clear()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "accounts.duckdb") as s:
        yield s


@pytest.fixture
def admin(store):
    return create_account(store, LOCAL, "Admin", ADMIN_PASSWORD, "admin")


@pytest.fixture
def pm(store, admin):
    return create_account(store, admin, "pm.north", PM_PASSWORD, "practice_manager",
                          ["North"])


def _audit(store):
    with store.cursor() as cur:
        return cur.execute(
            "SELECT username, action, outcome, coalesce(detail, '') FROM audit_log "
            "ORDER BY event_id").fetchall()


def _hashes(store):
    with store.cursor() as cur:
        return [r[0] for r in cur.execute("SELECT password_hash FROM accounts").fetchall()]


def test_bootstrap_creates_first_admin_with_argon2id_hash(store):
    assert accounts.needs_bootstrap(store)
    scope = create_account(store, LOCAL, "Admin", ADMIN_PASSWORD, "admin")
    assert scope == Scope(role="admin", practices=None, user="admin")
    assert not accounts.needs_bootstrap(store)
    (stored,) = _hashes(store)
    assert stored.startswith("$argon2id$v=19$")
    assert ADMIN_PASSWORD not in stored


def test_production_hasher_is_argon2id_at_rfc9106_cost():
    stored = PRODUCTION_HASHER.hash(ADMIN_PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PRODUCTION_HASHER.verify(stored, ADMIN_PASSWORD)


def test_bootstrap_must_be_an_admin(store):
    with pytest.raises(ValueError, match="administrator"):
        create_account(store, LOCAL, "boss", ADMIN_PASSWORD, "leadership")
    assert accounts.needs_bootstrap(store)


@pytest.mark.parametrize("password", [
    "short-1A", "aaaaaaaaaaaaaaaa", "123456789012", "Password2024!", "qwertyuiopas",
    "xx-admin-secure-xx", "P@ssw0rd2024", "qwertyuiop12", "Therapist2025!", "Password123456", "Welcome12345",
])
def test_trivial_passwords_refused(store, password):
    with pytest.raises(ValueError):
        create_account(store, LOCAL, "admin", password, "admin")
    assert accounts.needs_bootstrap(store)


def test_correct_password_signs_in_and_wrong_is_refused(store, pm):
    good = verify_sign_in(store, "PM.North", PM_PASSWORD, now=T0)
    assert good.ok and good.scope == pm
    assert good.scope.practices == frozenset({"North"})
    bad = verify_sign_in(store, "pm.north", PM_PASSWORD + "x", now=T0)
    assert not bad.ok and bad.scope is None
    assert bad.message.startswith(signin.NOT_ACCEPTED)


def test_delay_grows_from_third_failure_and_success_resets(store, admin):
    delays = []
    now = T0
    for _ in range(5):
        result = verify_sign_in(store, "admin", "Wrong-password-99", now=now)
        assert not result.ok
        delays.append(result.retry_after_seconds)
        now += timedelta(seconds=result.retry_after_seconds)
    assert delays[:2] == [0, 0]
    assert delays[2] < delays[3] < delays[4]
    assert delays[2:] == [1, 2, 4]

    # During the wait even the right password is not looked at.
    waiting = verify_sign_in(store, "admin", ADMIN_PASSWORD, now=now - timedelta(seconds=1))
    assert not waiting.ok and waiting.retry_after_seconds >= 1

    assert verify_sign_in(store, "admin", ADMIN_PASSWORD, now=now).ok
    again = verify_sign_in(store, "admin", "Wrong-password-99", now=now)
    assert again.retry_after_seconds == 0
    with store.cursor() as cur:
        assert cur.execute(
            "SELECT failed_attempts FROM accounts WHERE username = 'admin'").fetchone()[0] == 1


def test_delay_is_capped_at_fifteen_minutes():
    assert [retry_delay(n) for n in range(1, 6)] == [0, 0, 1, 2, 4]
    assert retry_delay(14) == 900 and retry_delay(10_000) == 900


def test_message_does_not_reveal_whether_username_exists(store, admin):
    now = T0
    for _ in range(4):
        known = verify_sign_in(store, "admin", "Wrong-password-99", now=now)
        unknown = verify_sign_in(store, "nobody", "Wrong-password-99", now=now)
        assert known.message == unknown.message
        assert known.retry_after_seconds == unknown.retry_after_seconds
        now += timedelta(seconds=known.retry_after_seconds)
    # The name typed for a missing account is not recorded (it may be a password).
    assert all(row[0] != "nobody" and "nobody" not in row[3] for row in _audit(store))


def test_every_sign_in_is_audited(store, admin):
    verify_sign_in(store, "admin", ADMIN_PASSWORD, now=T0)
    for _ in range(3):
        verify_sign_in(store, "admin", "Wrong-password-99", now=T0)
    verify_sign_in(store, "admin", "Wrong-password-99", now=T0)  # during the wait
    outcomes = [(r[0], r[2]) for r in _audit(store) if r[1] == "sign_in"]
    assert outcomes == [("admin", "ok"), ("admin", "failed"), ("admin", "failed"),
                        ("admin", "failed"), ("admin", "refused")]
    assert "locked" in [r for r in _audit(store) if r[1] == "sign_in"][-1][3]


def test_deactivated_account_cannot_sign_in(store, admin, pm):
    accounts.deactivate(store, admin, "pm.north")
    result = verify_sign_in(store, "pm.north", PM_PASSWORD, now=T0)
    assert not result.ok and result.message == signin.NOT_ACCEPTED
    assert accounts.active_scope(store, "pm.north") is None
    accounts.set_active(store, admin, "pm.north", True)
    assert verify_sign_in(store, "pm.north", PM_PASSWORD, now=T0).ok


def test_last_admin_cannot_be_removed(store, admin):
    with pytest.raises(ValueError, match="last active administrator"):
        accounts.deactivate(store, admin, "admin")
    with pytest.raises(ValueError, match="last active administrator"):
        accounts.update_access(store, admin, "admin", "leadership")


def test_update_access_and_reset_password(store, admin, pm):
    accounts.update_access(store, admin, "pm.north", "practice_manager", ["North", "South"])
    assert accounts.active_scope(store, "pm.north").practices == {"North", "South"}
    accounts.update_access(store, admin, "pm.north", "leadership", ["North"])
    assert accounts.active_scope(store, "pm.north") == Scope("leadership", None, "pm.north")
    with pytest.raises(ValueError, match="at least one practice"):
        accounts.update_access(store, admin, "pm.north", "practice_manager", [])

    for _ in range(4):
        verify_sign_in(store, "pm.north", "Wrong-password-99", now=T0)
    accounts.reset_password(store, admin, "pm.north", "Brand-new-meadow-42")
    assert verify_sign_in(store, "pm.north", "Brand-new-meadow-42", now=T0).ok
    assert not verify_sign_in(store, "pm.north", PM_PASSWORD, now=T0).ok


def test_hashes_never_leave_the_accounts_table(store, admin, pm, caplog):
    caplog.set_level(logging.DEBUG)
    accounts.reset_password(store, admin, "pm.north", "Brand-new-meadow-42")
    verify_sign_in(store, "pm.north", "Brand-new-meadow-42", now=T0)
    verify_sign_in(store, "pm.north", "Wrong-password-99", now=T0)
    secrets = _hashes(store) + [ADMIN_PASSWORD, PM_PASSWORD, "Brand-new-meadow-42",
                                "Wrong-password-99", "$argon2"]

    frame = list_accounts(store, admin)
    assert "password_hash" not in frame.columns
    listed = frame.to_csv()
    audit_text = repr(_audit(store))
    log_text = caplog.text
    for secret in secrets:
        assert secret not in listed
        assert secret not in audit_text
        assert secret not in log_text
    assert set(frame["username"]) == {"admin", "pm.north"}
    assert frame.set_index("username").loc["pm.north", "practices"] == "North"


def test_practice_manager_scope_is_limited(store, pm):
    assert pm.may("upload") and pm.may("view")
    assert not pm.may("accounts") and not pm.may("export")
    require(pm, "upload", ["North"])
    with pytest.raises(PermissionDenied):
        require(pm, "upload", ["South"])


@pytest.mark.parametrize("call", [
    lambda s, who: accounts.list_accounts(s, who),
    lambda s, who: accounts.create_account(s, who, "new.user", "Quiet-river-7391", "admin"),
    lambda s, who: accounts.update_access(s, who, "admin", "leadership"),
    lambda s, who: accounts.deactivate(s, who, "admin"),
    lambda s, who: accounts.reset_password(s, who, "admin", "Quiet-river-7391"),
    lambda s, who: accounts.known_sites(s, who),
    lambda s, who: accounts.audit_events(s, who),
    lambda s, who: accounts.check_allowed(s, who, "upload", ["South"]),
])
def test_outside_scope_calls_are_refused_and_audited(store, pm, call):
    before = len(_audit(store))
    with pytest.raises(PermissionDenied):
        call(store, pm)
    rows = _audit(store)[before:]
    assert [(r[0], r[2]) for r in rows] == [("pm.north", "refused")]
    assert _hashes(store)[0] is not None
    assert not verify_sign_in(store, "admin", "Quiet-river-7391", now=T0).ok


def test_known_sites_lists_assigned_practices(store, admin, pm):
    assert accounts.known_sites(store, admin) == ["North"]


ROLE_MAP = {
    "claim": "groups",
    "users": {"Alice@Example.org": {"role": "admin"},
              "pm@example.org": {"role": "practice_manager", "practices": ["North"]}},
    "groups": {"ppi-research": {"role": "researcher"}},
    "domains": {"example.org": {"role": "leadership"}},
}


def test_sso_mapping_by_user_group_and_domain():
    assert sso_scope("alice@example.org", {}, ROLE_MAP) == Scope("admin", None,
                                                                   "alice@example.org")
    assert sso_scope("pm@example.org", {}, ROLE_MAP).practices == {"North"}
    assert sso_scope("bob@other.org", {"groups": ["x", "ppi-research"]},
                     ROLE_MAP).role == "researcher"
    assert sso_scope("carol@example.org", {}, ROLE_MAP).role == "leadership"
    assert sso_scope("eve@elsewhere.org", {"groups": "staff"}, ROLE_MAP) is None
    assert sso_scope("alice@example.org", {"email_verified": False}, ROLE_MAP) is None
    assert sso_scope("alice@example.org", {}, {}) is None


def test_role_map_file_is_checked(tmp_path, monkeypatch):
    good = tmp_path / "roles.toml"
    good.write_text('[users]\n"a@b.org" = { role = "researcher" }\n')
    monkeypatch.setenv(sso.ROLE_MAP_ENV, str(good))
    assert sso.load_role_map()["users"]["a@b.org"]["role"] == "researcher"
    bad = tmp_path / "bad.toml"
    bad.write_text('[users]\n"a@b.org" = { role = "practice_manager" }\n')
    with pytest.raises(ValueError, match="practice"):
        sso.load_role_map(bad)
    assert sso.load_role_map(tmp_path / "missing.toml") == {}


def test_sso_sign_in_is_audited(store):
    sso.record_sso_sign_in(store, "Carol@Example.org", sso_scope(
        "carol@example.org", {}, ROLE_MAP))
    sso.record_sso_sign_in(store, "eve@elsewhere.org", None)
    assert [(r[0], r[2]) for r in _audit(store)] == [("carol@example.org", "ok"),
                                                     ("eve@elsewhere.org", "refused")]


def test_idle_expiry():
    assert not is_session_expired(T0, T0 + timedelta(minutes=29), 30)
    assert is_session_expired(T0, T0 + timedelta(minutes=30), 30)
    assert is_session_expired(None, T0, 30)


def test_example_role_map_is_valid():
    example = sso.load_role_map(
        sso.DEFAULT_ROLE_MAP.parent.parent / "config" / "roles.example.toml")
    assert sso_scope("manager.north@example.org", {}, example).practices == {"North"}


def test_strength_estimate_accepts_unguessable_passwords():
    for password in (ADMIN_PASSWORD, PM_PASSWORD, "correct horse battery staple"):
        assert passwords.password_problem(password, "someone") is None
    assert "at most" in passwords.password_problem("x" * 5000)


def test_parallel_wrong_passwords_cannot_race_the_throttle(store, admin, monkeypatch):
    # Twelve wrong passwords at once: each attempt is counted before its password is
    # checked, so only the free attempts and the one that starts the wait are checked.
    checked = []
    real = passwords.verify_password

    def counting(password_hash, password):
        checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    barrier = threading.Barrier(12)

    def attempt(i):
        barrier.wait()
        return verify_sign_in(store, "admin", f"Wrong-password-{i:02d}", now=T0)

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(attempt, range(12)))
    assert not any(r.ok for r in results)
    assert len(checked) == signin.FREE_ATTEMPTS + 1
    assert sum(r.message.startswith("Too many attempts") for r in results) == 12 - len(checked)
    with store.cursor() as cur:
        assert cur.execute("SELECT failed_attempts FROM accounts WHERE username = 'admin'"
                           ).fetchone()[0] == signin.FREE_ATTEMPTS + 1


def test_parallel_attempts_on_unknown_names_are_throttled_too(store, admin):
    barrier = threading.Barrier(8)

    def attempt(i):
        barrier.wait()
        return verify_sign_in(store, "nobody", f"Wrong-password-{i:02d}", now=T0)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert sum(r.message.startswith("Too many attempts") for r in results) == 8 - 3


# ------------------------------------------------------------------ sessions


def test_session_token_survives_a_reload_until_sign_out(store, pm):
    token = sessions.start(store, pm, "password", T0)
    again = sessions.resume(store, token, T0 + timedelta(minutes=5), 30)
    assert again is not None and again.scope == pm and again.method == "password"
    # Only a hash of the session id is stored; the token names nobody.
    with store.cursor() as cur:
        stored = cur.execute("SELECT token_hash FROM sessions").fetchall()
    assert token.split(".")[0] not in str(stored) and "pm.north" not in token
    sessions.end(store, token, T0 + timedelta(minutes=6))
    assert sessions.resume(store, token, T0 + timedelta(minutes=7), 30) is None


def test_session_expires_when_idle_and_after_the_absolute_limit(store, pm):
    token = sessions.start(store, pm, "password", T0)
    assert sessions.resume(store, token, T0 + timedelta(minutes=31), 30) is None
    token = sessions.start(store, pm, "password", T0)
    now = T0
    for _ in range(sessions.ABSOLUTE_HOURS * 4):  # active every 15 minutes
        now += timedelta(minutes=15)
        alive = sessions.resume(store, token, now, 30)
    assert alive is None


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),   # altered signature
    lambda t: "x" + t,                                              # altered id
    lambda t: t.split(".")[0],                                      # no signature
    lambda t: "",
    lambda t: "é.é",
])
def test_forged_session_tokens_are_refused(store, pm, tamper):
    token = sessions.start(store, pm, "password", T0)
    assert sessions.resume(store, tamper(token), T0, 30) is None


def test_password_reset_and_deactivation_end_open_sessions(store, admin, pm):
    token = sessions.start(store, pm, "password", T0)
    accounts.reset_password(store, admin, "pm.north", "Another-river-stone-9")
    assert sessions.resume(store, token, T0, 30) is None
    token = sessions.start(store, pm, "password", T0)
    accounts.deactivate(store, admin, "pm.north")
    assert sessions.resume(store, token, T0, 30) is None


def test_role_change_applies_to_an_open_session(store, admin, pm):
    token = sessions.start(store, pm, "password", T0)
    accounts.update_access(store, admin, "pm.north", "practice_manager", ["South"])
    assert sessions.resume(store, token, T0, 30).scope.practices == frozenset({"South"})


def test_session_key_file_is_private(store, pm, tmp_path, monkeypatch):
    monkeypatch.setenv(sessions.SESSION_KEY_ENV, str(tmp_path / "new" / "session.key"))
    sessions.start(store, pm, "password", T0)
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "session.key").st_mode) == 0o600


# ------------------------------------------------------------------ user command


def _user(monkeypatch, capsys, *args, stdin=""):
    from analysis.__main__ import main  # noqa: PLC0415

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["user", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_user_command_adds_lists_disables_and_resets(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "cli.duckdb")
    assert _user(monkeypatch, capsys, "add", "--db", db, "--username", "Ada", "--role",
                 "admin", stdin=ADMIN_PASSWORD + "\n")[0] == 0
    code, _, err = _user(monkeypatch, capsys, "add", "--db", db, "--username", "bob",
                         "--role", "leadership", stdin="P@ssw0rd2024\n")
    assert code == 2 and "too easy to guess" in err
    code, _, err = _user(monkeypatch, capsys, "add", "--db", db, "--username", "pm.north",
                         "--role", "practice_manager", stdin=PM_PASSWORD + "\n")
    assert code == 2 and "at least one practice" in err
    assert _user(monkeypatch, capsys, "add", "--db", db, "--username", "pm.north", "--role",
                 "practice_manager", "--practice", "North", "--practice", "Bay",
                 stdin=PM_PASSWORD + "\nignored second line\n")[0] == 0
    code, out, _ = _user(monkeypatch, capsys, "list", "--db", db)
    assert code == 0 and "Practice manager" in out and "Bay, North" in out
    assert PM_PASSWORD not in out and "argon2" not in out
    assert _user(monkeypatch, capsys, "disable", "--db", db, "--username", "ada")[0] == 2
    assert _user(monkeypatch, capsys, "disable", "--db", db, "--username", "pm.north")[0] == 0
    assert _user(monkeypatch, capsys, "reset-password", "--db", db, "--username", "nobody",
                 stdin="Another-river-stone-9\n")[0] == 2
    assert _user(monkeypatch, capsys, "reset-password", "--db", db, "--username", "ada",
                 stdin="\n")[0] == 2
    assert _user(monkeypatch, capsys, "enable", "--db", db, "--username", "pm.north")[0] == 0
    assert _user(monkeypatch, capsys, "reset-password", "--db", db, "--username", "pm.north",
                 stdin="Another-river-stone-9\n")[0] == 0
    with Store(db) as store:
        assert verify_sign_in(store, "pm.north", "Another-river-stone-9").ok
