"""Who may use the admin and insights tabs: checked on the server for every action and API call.

With `QA_ADMIN_PASSWORD` set, reading and changing need that password (compared in constant time).
Without it, the tabs are read-only for everyone and every change is refused.
"""

from __future__ import annotations

import hmac
import os

import gradio as gr

PASSWORD_ENV = "QA_ADMIN_PASSWORD"


class AdminDenied(gr.Error):
    """An admin action refused; the message says why (shown in the UI, returned to API clients)."""


class AdminGuard:
    """Checks the admin password given with a request."""

    def __init__(self, password: str | None) -> None:
        self._password = password.encode() if password else None

    @classmethod
    def from_env(cls) -> AdminGuard:
        return cls(os.environ.get(PASSWORD_ENV))

    @property
    def protected(self) -> bool:
        return self._password is not None

    def _matches(self, given: str | None) -> bool:
        return self._password is not None and hmac.compare_digest((given or "").encode(), self._password)

    def check_read(self, given: str | None) -> None:
        """Reading is open when no password is set, else needs the password."""
        if self.protected and not self._matches(given):
            raise AdminDenied("Wrong or missing admin password.")

    def check_change(self, given: str | None) -> None:
        """Changes need the password; without one set the knowledge base is read-only."""
        if not self.protected:
            raise AdminDenied(f"The knowledge base is read-only: set {PASSWORD_ENV} on the server to allow changes.")
        if not self._matches(given):
            raise AdminDenied("Wrong or missing admin password.")

    def notice(self) -> str:
        """What the admin tabs say about access."""
        if self.protected:
            return "Enter the admin password to see and change the knowledge base and the insights."
        return f"Read-only: set `{PASSWORD_ENV}` on the server to allow changes."

    def password_box(self) -> gr.Textbox:
        """The password field of an admin tab (hidden when no password is set)."""
        return gr.Textbox(label="Admin password", type="password", visible=self.protected, max_lines=1)
