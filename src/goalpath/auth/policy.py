"""The password policy: NIST SP 800-63B-4 section 3.1.1.2 and OWASP ASVS 5.0 V6.2.

Length counts Unicode characters after NFKC normalisation; nothing is truncated and
there are no composition rules. A password is refused when it is on an offline list of
common passwords, contains a word from the user's context, or repeats one of the user's
recent passwords. Each failed rule is reported with its own message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from goalpath import PRODUCT_NAME

# Words too generic to count as a district's name.
_GENERIC_DISTRICT_WORDS = frozenset(
    {
        "school",
        "schools",
        "district",
        "unified",
        "public",
        "county",
        "city",
        "independent",
        "consolidated",
        "community",
        "regional",
        "area",
        "the",
        "of",
        "and",
    }
)
_MIN_CONTEXT_WORD = 3


@dataclass(frozen=True)
class PolicyFailure:
    rule: str
    message: str


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """30,000 most common passwords from leaked sets, as shipped by zxcvbn."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def context_words(
    *, email: str | None, name: str | None, district_names: Iterable[str] = ()
) -> list[str]:
    words: set[str] = {PRODUCT_NAME.lower()}
    if email:
        local_part = email.split("@", 1)[0].lower()
        words.add(local_part)
        words.update(re.split(r"[._+\-]+", local_part))
    if name:
        parts = re.split(r"[\s\-'.]+", name.lower())
        words.update(parts)
        words.add("".join(parts))
    for district in district_names:
        for word in re.split(r"[^\w]+", district.lower()):
            if word not in _GENERIC_DISTRICT_WORDS:
                words.add(word)
    return sorted(word for word in words if len(word) >= _MIN_CONTEXT_WORD)


def check_password(
    password: str,
    *,
    min_length: int,
    max_length: int,
    email: str | None = None,
    name: str | None = None,
    district_names: Iterable[str] = (),
    matches_recent: Callable[[str], bool] | None = None,
) -> list[PolicyFailure]:
    """Every rule the password breaks; an empty list means it is acceptable."""
    # A huge input is refused before any normalisation or hashing work is done on it.
    if len(password) > max_length * 4:
        return [PolicyFailure("max_length", f"Use at most {max_length} characters.")]
    candidate = normalise(password)
    failures: list[PolicyFailure] = []
    if len(candidate) < min_length:
        failures.append(PolicyFailure("min_length", f"Use at least {min_length} characters."))
    if len(candidate) > max_length:
        failures.append(PolicyFailure("max_length", f"Use at most {max_length} characters."))
    if failures:
        return failures
    lowered = candidate.lower()
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        failures.append(
            PolicyFailure("common", "This password is on a list of commonly used passwords.")
        )
    for word in context_words(email=email, name=name, district_names=district_names):
        if word in lowered:
            failures.append(
                PolicyFailure(
                    "context",
                    "Do not use your name, your email, your district's name or the "
                    "product's name in your password.",
                )
            )
            break
    if not failures and matches_recent is not None and matches_recent(candidate):
        failures.append(PolicyFailure("history", "Do not reuse one of your recent passwords."))
    return failures
