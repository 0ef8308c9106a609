"""The password policy: NIST SP 800-63B-4 section 3.1.1.2 and OWASP ASVS 5.0 V6.2.

Length counts Unicode characters after NFKC normalisation; nothing is truncated and
there are no composition rules. A password is refused when it is on an offline list of
common passwords, contains a word from the user's context, is estimated too easy to
guess (SPEC section 12: zxcvbn's model of repeats, sequences, keyboard patterns, words
and dates), or repeats one of the user's recent passwords. Each failed rule is reported
with its own message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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
# Shorter keyboard or sequence runs are in most passwords and explain nothing.
_MIN_PATTERN_TOLD = 5


@dataclass(frozen=True)
class PolicyFailure:
    rule: str
    message: str


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """30,000 most common passwords from leaked sets, as shipped by zxcvbn."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


# How each kind of zxcvbn match is told to a person, in the order they are listed.
_PATTERN_REASONS = (
    ("repeat", "it repeats the same characters or words"),
    ("sequence", "it follows a sequence such as abc or 12345"),
    ("spatial", "it follows a row or a shape of keys on the keyboard"),
    ("common_password", "it is built from commonly used passwords"),
    ("dictionary", "it is built from a few common words or names"),
    ("date", "it contains a date or a year"),
)


def _weak_patterns(matches: list[dict[str, Any]]) -> set[str]:
    kinds: set[str] = set()
    for match in matches:
        pattern = match.get("pattern")
        if pattern == "dictionary":
            common = match.get("dictionary_name") == "passwords"
            kinds.add("common_password" if common else "dictionary")
        elif pattern in ("date", "regex"):
            # zxcvbn's only regex is "a recent year".
            kinds.add("date")
        elif pattern in ("repeat", "sequence", "spatial"):
            kinds.add(pattern)
    return kinds


def strength_failure(
    candidate: str, *, min_guesses: float, user_inputs: Iterable[str] = ()
) -> PolicyFailure | None:
    """A failure when zxcvbn estimates fewer than `min_guesses` guesses (SPEC section 12);
    its message names the patterns that make the password guessable."""
    from zxcvbn import zxcvbn

    estimate = zxcvbn(candidate, user_inputs=list(user_inputs), max_length=len(candidate) + 1)
    if float(estimate["guesses"]) >= min_guesses:
        return None
    from zxcvbn import matching

    # zxcvbn keeps the cheapest reading: "qwertyuiop" counts as a listed password, yet it
    # is a keyboard row too, which is the reason a person recognises.
    also_patterns = [
        match
        for match in matching.spatial_match(candidate) + matching.sequence_match(candidate)
        if len(match["token"]) >= _MIN_PATTERN_TOLD
    ]
    kinds = _weak_patterns(estimate["sequence"] + also_patterns)
    reasons = [reason for kind, reason in _PATTERN_REASONS if kind in kinds]
    because = "; ".join(reasons) if reasons else "it is short for the kinds of characters it uses"
    return PolicyFailure(
        "weak",
        f"This password is too easy to guess: {because}. A few unrelated words together, "
        "like a short phrase only you would think of, make a strong password.",
    )


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
    min_guesses: float | None = None,
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
    context = context_words(email=email, name=name, district_names=district_names)
    for word in context:
        if word in lowered:
            failures.append(
                PolicyFailure(
                    "context",
                    "Do not use your name, your email, your district's name or the "
                    "product's name in your password.",
                )
            )
            break
    if not failures and min_guesses is not None:
        weak = strength_failure(candidate, min_guesses=min_guesses, user_inputs=context)
        if weak is not None:
            failures.append(weak)
    if not failures and matches_recent is not None and matches_recent(candidate):
        failures.append(PolicyFailure("history", "Do not reuse one of your recent passwords."))
    return failures
