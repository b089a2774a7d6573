"""Admin → Accounts: who may sign in, with which role, for which practices."""

from __future__ import annotations

import streamlit as st

from analysis.access import accounts
from analysis.access.scope import ROLE_LABELS, PermissionDenied
from ui import auth
from ui.page import admin_page_start, allowed_or_stop

NOTICE = "admin_accounts_notice"

scope, store = admin_page_start("Accounts",
                                "Who may sign in, with which role, and for which practices. Every "
                                "change is written to the audit log.")

if auth.uses_single_sign_on():
    st.info(
        "People sign in with the organisation's identity provider; their roles come "
        f"from the role map ({accounts.role_map_path()}). Local accounts are not used "
        "while single sign-on is configured.", icon=":material/badge:")
    st.stop()
if accounts.needs_bootstrap(store):
    auth.bootstrap_form(store)
    st.stop()

table, sites = allowed_or_stop(
    lambda: (accounts.list_accounts(store, scope), accounts.known_sites(store, scope)))

if NOTICE in st.session_state:
    st.success(st.session_state.pop(NOTICE), icon=":material/check_circle:")


def apply(change, success: str, *args) -> None:
    """Run one account change; report refusals in place, success after the rerun."""
    try:
        change(store, scope, *args)
    except PermissionDenied as error:
        auth.show_permission_error(error)
    except ValueError as error:
        st.error(str(error))
    else:
        st.session_state[NOTICE] = success
        st.rerun()


def role_and_practices(key: str, role: str = "leadership",
                       practices: list[str] | None = None) -> tuple[str, list[str]]:
    roles = list(accounts.ASSIGNABLE_ROLES)
    chosen_role = st.selectbox("Role", roles, index=roles.index(role),
                               format_func=ROLE_LABELS.get, key=f"{key}_role")
    chosen = st.multiselect(
        "Practices (practice managers only)", sites, default=practices or [],
        accept_new_options=True, key=f"{key}_practices",
        help="A practice manager uploads and sees only these practices. Other roles see "
             "every practice; their practices are ignored.")
    return chosen_role, chosen


st.dataframe(
    table, hide_index=True,
    column_config={"role": st.column_config.TextColumn("role"),
                   "failed_attempts": st.column_config.NumberColumn("failed sign-ins")},
)
usernames = table["username"].tolist()

create, access, status, password = st.tabs(
    ["Create", "Change role or practices", "Deactivate or reactivate", "Reset password"])

with create, st.form("create_account", clear_on_submit=True):
    username = st.text_input("Username")
    role, practices = role_and_practices("create")
    new_password = st.text_input(
        "Initial password", type="password",
        help=f"At least {accounts.MIN_PASSWORD_LENGTH} characters; hand it over in person "
             "or by phone, never with the username in the same message.")
    if st.form_submit_button("Create account", type="primary"):
        apply(accounts.create_account, f"Account {username} created.",
              username, new_password, role, practices)

with access:
    who = st.selectbox("Account", usernames, key="access_user")
    row = table.set_index("username").loc[who]
    with st.form("update_access"):
        current_practices = [p for p in row["practices"].split(", ") if p]
        role, practices = role_and_practices("access", row["role"], current_practices)
        if st.form_submit_button("Save role and practices"):
            apply(accounts.update_access, f"Access of {who} changed.", who, role, practices)

with status, st.form("set_active"):
    who = st.selectbox("Account", usernames, key="status_user")
    active = st.radio("Status", ["Active", "Deactivated"], horizontal=True) == "Active"
    if st.form_submit_button("Apply"):
        apply(accounts.set_active, f"{who} is now {'active' if active else 'deactivated'}.",
              who, active)

with password, st.form("reset_password", clear_on_submit=True):
    who = st.selectbox("Account", usernames, key="password_user")
    new_password = st.text_input("New password", type="password")
    if st.form_submit_button("Reset password"):
        apply(accounts.reset_password, f"Password of {who} reset; any sign-in delay lifted.",
              who, new_password)
