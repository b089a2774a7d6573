"""The viewer's scope, and the part of it the dashboards' shared results depend on."""

from __future__ import annotations

import pytest

from analysis.access.scope import LOCAL, SHARED_VIEWER, PermissionDenied, Scope, require, viewing_scope

NORTH = frozenset({"North"})


def test_viewers_with_the_same_practices_get_one_viewing_scope():
    everyone = [Scope("leadership", None, "ada"), Scope("researcher", None, "bo"),
                Scope("admin", None, "cy"), LOCAL]
    assert len({viewing_scope(s) for s in everyone}) == 1
    managers = [Scope("practice_manager", NORTH, "pm.a"), Scope("practice_manager", NORTH, "pm.b")]
    assert len({viewing_scope(s) for s in managers}) == 1
    assert viewing_scope(managers[0]) != viewing_scope(everyone[0])


def test_a_viewing_scope_keeps_the_practices_may_only_view_and_names_no_one():
    shared = viewing_scope(Scope("admin", NORTH, "cy"))
    assert shared.practices == NORTH and shared.user == SHARED_VIEWER
    assert shared.may("view")
    assert not any(shared.may(a) for a in ("upload", "undo", "export", "settings", "accounts"))
    require(shared, "view", ["North"])
    with pytest.raises(PermissionDenied, match="outside your access"):
        require(shared, "view", ["South"])
