"""The demo district reads like a real one: goals as plans write them, notes as staff
log them (whole sentences), last year's reports final, nothing sensitive in a report,
and no child's name anywhere (students carry identifiers only)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import BREAKS, CURRENT_PERIOD, SENSITIVE_NOTES
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import Goal, HealthNote, ProgressEvent, ProgressReport, Role, User, UserStudent
from tests.fixtures import demo

# Common first names of US schoolchildren. Staff names are the demo's own and are left
# out, as are words that are names only sometimes (May, June, Will, Grace).
CHILD_NAMES = [
    "Aaliyah",
    "Aiden",
    "Alejandro",
    "Amelia",
    "Amir",
    "Ana",
    "Aria",
    "Ava",
    "Camila",
    "Carlos",
    "Chloe",
    "Daniel",
    "Diego",
    "Elijah",
    "Ella",
    "Emily",
    "Emma",
    "Ethan",
    "Fatima",
    "Harper",
    "Isabella",
    "Jacob",
    "Jayden",
    "Jose",
    "Juan",
    "Kai",
    "Leah",
    "Liam",
    "Lucas",
    "Luis",
    "Luna",
    "Maria",
    "Mason",
    "Mateo",
    "Maya",
    "Mia",
    "Mohammed",
    "Muhammad",
    "Noah",
    "Nia",
    "Olivia",
    "Oliver",
    "Santiago",
    "Sofia",
    "Sophia",
    "Valentina",
    "Wei",
    "Yusuf",
    "Zoe",
]
NAME = re.compile(r"\b(" + "|".join(CHILD_NAMES) + r")\b")
# The old generator's titles: a criterion out of range ("110 of 5 observed moments").
BROKEN_CRITERION = re.compile(r"\b(\d+) of (\d+)\b")


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def _impossible_counts(text: str) -> list[str]:
    return [m.group(0) for m in BROKEN_CRITERION.finditer(text) if int(m[1]) > int(m[2])]


def test_goals_read_as_plans_write_them(database: Database, staff: demo.DemoStaff) -> None:
    with database.session_scope() as session:
        goals = session.execute(
            select(Goal.title, Goal.description, Goal.category, Goal.id_goal_parent)
        ).all()
    assert goals
    categories = {goal.category for goal in goals}
    assert {
        "Reading",
        "Writing",
        "Math",
        "Communication",
        "Social-emotional",
        "Behaviour",
        "Attendance",
        "Transition",
        "English language development",
    } <= categories
    for goal in goals:
        title = goal.title or ""
        assert title[:1].isupper() and not title.endswith((" ", ",")), title
        assert _impossible_counts(title) == [], title
        # No cut-off words: titles are whole, and never a lowercased slice of another.
        assert len(title.split()) >= 5, title
        if goal.id_goal_parent is None:
            # An annual goal says how it is measured.
            assert goal.description and goal.description.endswith("."), title
            assert re.search(r"\b(Measured|Observed|Data|reviewed)\b", goal.description), title
    roots = [goal for goal in goals if goal.id_goal_parent is None]
    assert len(goals) > len(roots)  # short-term objectives under the annual goals
    assert any(title.startswith("By the annual IEP review") for title, *_ in roots)


def test_notes_are_whole_sentences(database: Database, staff: demo.DemoStaff) -> None:
    with database.session_scope() as session:
        notes = session.execute(
            select(ProgressEvent.content, ProgressEvent.created_at, ProgressEvent.is_sensitive)
        ).all()
    assert len(notes) > 1000
    for note in notes:
        text = note.content or ""
        assert re.search(r"[.!?][\"')]?$", text), text
        assert "  " not in text and "{" not in text, text
        assert _impossible_counts(text) == [], text
    # Several times a week, with the school breaks left quiet.
    days = {note.created_at.date() for note in notes}
    assert not [day for day in days for first, last in BREAKS if first <= day <= last]
    assert any(note.is_sensitive for note in notes)
    assert set(SENSITIVE_NOTES) >= {note.content for note in notes if note.is_sensitive}


def test_health_notes_are_a_nurses_and_stored_encrypted(
    database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    cipher = HealthNoteCipher.from_settings(settings)
    with database.session_scope() as session:
        stored = list(session.scalars(select(HealthNote.content)))
    assert stored
    texts = [cipher.decrypt(content or "") for content in stored]
    for ciphertext, text in zip(stored, texts, strict=True):
        assert text not in (ciphertext or "")
        assert text.endswith("."), text
    assert any("action plan" in text or "Medication at school" in text for text in texts)


def test_last_years_reports_are_final_and_this_periods_a_mix(
    database: Database, staff: demo.DemoStaff
) -> None:
    with database.session_scope() as session:
        case_managers = set(
            session.scalars(
                select(User.id_user)
                .join(Role, Role.id_role == User.id_role)
                .where(Role.name == "case_manager")
            )
        )
        primary = dict(
            session.execute(
                select(UserStudent.id_student, UserStudent.id_user).where(
                    UserStudent.is_primary.is_(True), UserStudent.id_user.in_(case_managers)
                )
            ).all()
        )
        reports = session.execute(
            select(
                ProgressReport.id_student,
                ProgressReport.period,
                ProgressReport.year,
                ProgressReport.summary,
                ProgressReport.generated_at,
                ProgressReport.finalized_at,
                ProgressReport.id_user_finalized,
            )
        ).all()
    last_year = [report for report in reports if report.year == 2025]
    assert last_year
    for report in last_year:
        assert report.finalized_at is not None
        assert report.generated_at is not None
        assert report.generated_at < report.finalized_at
        # Signed off by the student's case manager.
        assert report.id_user_finalized == primary[report.id_student]
    period, year = CURRENT_PERIOD
    current = [r for r in reports if (r.period, r.year) == (period, year)]
    drafts = [r for r in current if r.finalized_at is None]
    finals = [r for r in current if r.finalized_at is not None]
    assert drafts and finals and len(finals) < len(drafts)
    students_reported = {r.id_student for r in current}
    assert len(students_reported) < len(primary)  # some not yet drafted
    for report in reports:
        summary = report.summary or ""
        assert summary.endswith("."), summary
        assert "{" not in summary and "wcpm" not in summary, summary


def test_no_report_quotes_a_sensitive_note(database: Database, staff: demo.DemoStaff) -> None:
    with database.session_scope() as session:
        sensitive = set(
            session.scalars(
                select(ProgressEvent.content).where(ProgressEvent.is_sensitive.is_(True))
            )
        )
        summaries = list(session.scalars(select(ProgressReport.summary)))
    assert sensitive and summaries
    fragments = {
        sentence.strip()
        for note in sensitive | set(SENSITIVE_NOTES)
        for sentence in re.split(r"(?<=[.;:])\s", note or "")
        if len(sentence) > 20
    }
    for summary in summaries:
        assert not [fragment for fragment in fragments if fragment in (summary or "")]


def test_no_stored_text_names_a_child(
    database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    cipher = HealthNoteCipher.from_settings(settings)
    with database.session_scope() as session:
        texts = [
            *session.scalars(select(Goal.title)),
            *session.scalars(select(Goal.description)),
            *session.scalars(select(ProgressEvent.content)),
            *session.scalars(select(ProgressReport.summary)),
            *(cipher.decrypt(note or "") for note in session.scalars(select(HealthNote.content))),
        ]
    named = [text for text in texts if text and NAME.search(text)]
    assert named == []
