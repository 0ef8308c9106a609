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
