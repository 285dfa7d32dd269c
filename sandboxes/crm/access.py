"""Who may call the sandbox org, and how much: OAuth sessions and the daily API quota."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

DEFAULT_TOKEN_LIFETIME_S = 7200.0  # a Salesforce session's default timeout: two hours
DEFAULT_DAILY_LIMIT = 1_000_000

ORG_ID = "00D5g000004Sbx2EAC"
INTEGRATION_USER_ID = "0055g00000CbQpHAAV"


@dataclass
class Sessions:
    """Access tokens issued by the token endpoint, each valid for `lifetime_s`."""

    lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S
    _expiry: dict[str, float] = field(default_factory=dict)

    def issue(self) -> str:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        self._expiry[token] = time.monotonic() + self.lifetime_s
        return token

    def valid(self, token: str) -> bool:
        expiry = self._expiry.get(token)
        if expiry is None:
            return False
        if time.monotonic() >= expiry:
            del self._expiry[token]
            return False
        return True

    def expire_all(self) -> None:
        self._expiry.clear()

    @property
    def active(self) -> int:
        now = time.monotonic()
        return sum(1 for expiry in self._expiry.values() if expiry > now)


@dataclass
class Quota:
    """The org's daily API request allowance, as `Sforce-Limit-Info` reports it."""

    limit: int = DEFAULT_DAILY_LIMIT
    used: int = 0

    def spend(self) -> bool:
        """Count one request; False (and count nothing) when the allowance is gone."""
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    @property
    def header(self) -> str:
        return f"api-usage={self.used}/{self.limit}"
