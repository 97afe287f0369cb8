"""Per-account lockout after repeated wrong passwords, whichever way the password came in.

The IP throttle (`auth_token`, 10 a minute) slows one client; a botnet guessing one
member's password from many addresses is slowed only by counting per account. After
`LOCKOUT_FAILURES` wrong passwords for one email address within `LOCKOUT_MINUTES`, every
password check for that address is refused for `LOCKOUT_MINUTES`, even the right password.

- One mechanism for every way in: `PasswordLockoutBackend.authenticate` (API token, the
  log-in page, the admin's log-in) and `User.check_password` (a current password typed
  to change it or to erase the account, on pages, in the API and in the admin).
- An address with no account counts and locks exactly like one with an account, and the
  message is the same, so the lockout never tells whether an email is registered.
- Counters live in Django's cache (Redis in production, shared by every web process).
  Keys hold a hash of the address, not the address: the cache is not a place for
  personal data.
- A right password clears the count; so does a new password set by reset or change.
- Times are compared with the clock, not left to the cache's expiry alone, so a lock ends
  on time on any cache backend (and tests can travel in time).
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

LOCKED_CODE = "locked"


class AccountLocked(ValidationError):
    """A password check refused because the account is locked. A ValidationError so a
    form shows it as the form's error; `wait_seconds` feeds the API's Retry-After."""

    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = wait_seconds
        super().__init__(locked_message(wait_seconds), code=LOCKED_CODE)


def locked_message(wait_seconds: int) -> str:
    minutes = max(1, math.ceil(wait_seconds / 60))
    # Says "this email address", never "your account": true whether or not one exists.
    return (
        "Too many wrong passwords were tried for this email address, so it is locked for "
        f"now. Please try again in about {minutes} minute{'s' if minutes != 1 else ''}, "
        "or reset your password."
    )


def _identity_hash(identity: str) -> str:
    # The same normal form as log-in (User.objects.get_by_natural_key): case and
    # surrounding spaces do not give a guesser fresh counters.
    normal = identity.strip().lower()
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


def _failures_key(identity: str) -> str:
    return f"lockout:failures:{_identity_hash(identity)}"


def _until_key(identity: str) -> str:
    return f"lockout:until:{_identity_hash(identity)}"


def _window_seconds() -> int:
    return settings.LOCKOUT_MINUTES * 60


def lockout_wait_seconds(*, identity: str) -> int:
    """Seconds until `identity` (an email address) may try a password again; 0 if now."""
    until = cache.get(_until_key(identity))
    if until is None:
        return 0
    return max(0, math.ceil(until - time.time()))


def lockout_refuse_if_locked(*, identity: str) -> None:
    """Raise AccountLocked while `identity` is locked."""
    if wait := lockout_wait_seconds(identity=identity):
        raise AccountLocked(wait)


def lockout_failure_record(*, identity: str) -> None:
    """Count one wrong password for `identity`; the count that reaches LOCKOUT_FAILURES
    within the window locks it. The count runs from the first failure of a window (a fixed
    window: cheap, one key, atomic increments on Redis)."""
    key = _failures_key(identity)
    window = _window_seconds()
    cache.add(key, 0, timeout=window)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        failures = 1
    if failures >= settings.LOCKOUT_FAILURES:
        lock_seconds = settings.LOCKOUT_MINUTES * 60
        # The cache entry outlives the lock by a minute; the stored time decides.
        cache.set(_until_key(identity), time.time() + lock_seconds, timeout=lock_seconds + 60)
        cache.delete(key)


def lockout_clear(*, identity: str) -> None:
    """Forget `identity`'s failures and any lock: a right password, or a new one."""
    cache.delete_many([_failures_key(identity), _until_key(identity)])
