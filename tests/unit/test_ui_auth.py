"""The admin password check of the admin and insights tabs and their API."""

from __future__ import annotations

import pytest

from qa.ui.auth import AdminDenied, AdminGuard


def test_without_a_password_reading_is_open_and_changes_are_refused() -> None:
    guard = AdminGuard(None)

    guard.check_read(None)
    guard.check_read("anything")
    with pytest.raises(AdminDenied, match="read-only"):
        guard.check_change("anything")
    assert not guard.protected


@pytest.mark.parametrize("given", [None, "", "secret ", "Secret", "secre", "secret\x00"])
def test_with_a_password_only_that_password_opens(given: str | None) -> None:
    guard = AdminGuard("secret")

    with pytest.raises(AdminDenied, match="admin password"):
        guard.check_read(given)
    with pytest.raises(AdminDenied, match="admin password"):
        guard.check_change(given)


def test_the_right_password_opens_reading_and_changes() -> None:
    guard = AdminGuard("sécret")

    guard.check_read("sécret")
    guard.check_change("sécret")
    assert guard.protected


def test_the_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_ADMIN_PASSWORD", "from-env")
    assert AdminGuard.from_env().protected
    monkeypatch.delenv("QA_ADMIN_PASSWORD")
    assert not AdminGuard.from_env().protected
