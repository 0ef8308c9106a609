"""The password policy's rules, without the database (SPEC section 4)."""

from __future__ import annotations

from goalpath.auth.policy import check_password, common_passwords

RULES = {"min_length": 15, "max_length": 128}


def rules(password: str, **context: object) -> set[str]:
    return {failure.rule for failure in check_password(password, **RULES, **context)}  # type: ignore[arg-type]


def test_length_boundaries() -> None:
    assert rules("a" * 3 + "correcthorsebat"[:11]) == {"min_length"}  # 14
    assert rules("x" * 2 + "correcthorsebat"[:13]) == set()  # 15
    assert rules("velvet-harbor-" * 9 + "ab") == set()  # 128
    assert rules("velvet-harbor-" * 9 + "abc") == {"max_length"}  # 129


def test_unicode_counts_characters_after_nfkc() -> None:
    # 15 characters of which several are multi-byte: accepted, never truncated.
    assert rules("żółwie-śpiewają🙂") == set()
    # NFKC folds the ligature 'ﬁ' into 'fi' before the checks.
    assert rules("ﬁ" * 7) == {"min_length"}


def test_common_list_is_large_and_offline() -> None:
    assert len(common_passwords()) >= 10_000


def test_listed_common_password_is_refused() -> None:
    long_common = sorted(word for word in common_passwords() if len(word) >= 15)
    assert long_common, "the list holds passwords of 15 characters or more"
    assert "common" in rules(long_common[0])


def test_context_words_are_refused() -> None:
    assert rules("quiet-ada-lovelace-hours", name="Ada Lovelace") == {"context"}
    assert rules("jdoe-harbour-lights-2026", email="jdoe@district.example") == {"context"}
    assert rules("my-riverbend-window-seat", district_names=["Riverbend Unified"]) == {"context"}
    assert rules("i-love-GOALPATH-so-much") == {"context"}
    # Generic district words are not treated as the district's name.
    assert rules("school-window-lanterns", district_names=["Riverbend Unified School"]) == set()


def test_a_huge_password_is_refused_before_any_work() -> None:
    assert rules("x" * 1_000_000) == {"max_length"}


STRENGTH = {**RULES, "min_guesses": 1e10}
WEAK = {
    "aaaaaaaaaaaaaaa": "repeats",
    "passwordpassword": "repeats",
    "123456789012345": "sequence",
    "qwertyuiopasdfghjkl": "keyboard",
    "Password1234567": "commonly used",
}


def test_guessable_passwords_are_refused_with_the_reason_in_words() -> None:
    for password, reason in WEAK.items():
        failures = check_password(password, **STRENGTH)  # type: ignore[arg-type]
        assert [failure.rule for failure in failures] == ["weak"], password
        assert reason in failures[0].message, (password, failures[0].message)
        assert "too easy to guess" in failures[0].message


def test_passphrases_and_the_suites_passwords_pass_the_estimator() -> None:
    for password in (
        "correct horse battery staple",
        "lantern-harbor-quietly-2931",
        "copper-meadow-violin-5520",
        "maple-lantern-orchard-42",
        "velvet-harbor-" * 9 + "ab",
    ):
        assert check_password(password, **STRENGTH) == [], password  # type: ignore[arg-type]


def test_threshold_is_the_setting() -> None:
    # Under 10**10 guesses but over 10**4: the line is the configured one.
    assert check_password("palmtree-drift-1", **{**STRENGTH, "min_guesses": 1e12})  # type: ignore[arg-type]
    assert not check_password("palmtree-drift-1", **STRENGTH)  # type: ignore[arg-type]


def test_dates_are_named() -> None:
    for password in ("1987-06-14-2003", "1987061419880715"):
        failures = check_password(password, **STRENGTH)  # type: ignore[arg-type]
        assert [failure.rule for failure in failures] == ["weak"], password
        assert "a date or a year" in failures[0].message
