"""The demo district's words: goals, progress notes, health notes and reports written
the way special-education, English-learner and wellness staff write them.

Students carry no names in Goalpath, so no text here names a child: notes say "the
student" or leave the subject out, as staff do in a log. Every note is one or more whole
sentences. Numbers in notes come from the loader (tries, correct answers, how far into
the year the note is), so a goal's notes tell one consistent story of progress.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date

from goalpath.demo.goals_english_learners import (
    ELD_LISTENING,
    ELD_READING,
    ELD_SPEAKING,
    ELD_WRITING,
    MATH_LANGUAGE,
)
from goalpath.demo.goals_special_education import (
    ATTENDANCE,
    BEHAVIOUR,
    COMMUNICATION,
    MATH_ELEMENTARY,
    MATH_SECONDARY,
    READING_ELEMENTARY,
    READING_SECONDARY,
    SELF_ADVOCACY,
    SELF_REGULATION,
    TRANSITION,
    WRITING_ELEMENTARY,
    WRITING_SECONDARY,
)
from goalpath.demo.plans import GoalPlan

# One list of six plans per program the demo's students are in (elementary special
# education, secondary special education, English learner support).
PROGRAM_PLANS: tuple[tuple[GoalPlan, ...], ...] = (
    (
        READING_ELEMENTARY,
        WRITING_ELEMENTARY,
        MATH_ELEMENTARY,
        COMMUNICATION,
        SELF_REGULATION,
        BEHAVIOUR,
    ),
    (READING_SECONDARY, WRITING_SECONDARY, MATH_SECONDARY, TRANSITION, ATTENDANCE, SELF_ADVOCACY),
    (ELD_SPEAKING, ELD_READING, ELD_WRITING, ELD_LISTENING, MATH_LANGUAGE, ATTENDANCE),
)

# Second sentences staff add now and then; each a whole sentence.
FOLLOW_UPS = (
    "Will repeat the probe next week.",
    "Shared the data with the general-education teacher.",
    "Prompts faded from verbal to gesture.",
    "Session shortened by an assembly.",
    "Worked in the resource room with two peers.",
    "Strong effort today.",
    "Tired after the morning; shorter session.",
    "Parent emailed a photo of the practice done at home.",
    "Data graphed; trend line is rising.",
    "Substitute in class today; routine held up well.",
)

# Counselor notes on family matters, logged as sensitive events (Student Wellness):
# never read into a report, never shown without the right to read sensitive events.
SENSITIVE_NOTES = (
    "Counseling check-in: the student shared that the family is staying with relatives "
    "after an eviction notice. Connected the guardian with the district family liaison; "
    "follow-up next week.",
    "The student was tearful after the weekend and said the parents are separating. Talked "
    "through coping strategies; the student chose to return to class after 20 minutes.",
    "Guardian called about conflict at home and asked that staff not raise it with the "
    "student. Noted the request; weekly check-ins continue on Thursdays.",
    "The student disclosed worry about a parent's illness. Agreed to tell the case manager "
    "only that extra support is needed this month, without the details.",
    "Attendance meeting with the family liaison and the parent: mornings are hard because "
    "the student cares for younger siblings. Agreed a later-arrival plan for two weeks.",
    "Family shared that food runs short at the end of the month. Enrolled the student in "
    "the weekend backpack program with the parent's consent.",
    "Report made to child protective services today after the student's disclosure, per "
    "district procedure. Safety plan reviewed; daily check-ins this week.",
    "Check-in after a conflict on the bus; the student linked it to a dispute between the "
    "two families. Bus seating changed for now; the other counselor informed.",
)

NURSE_NOTES = (
    "Medication at school: methylphenidate 10 mg given at 11:30 daily per the physician's "
    "order on file. Parent signed the consent on 8/21; 28 tablets received and counted "
    "with the parent.",
    "Allergy action plan (peanut, tree nuts) reviewed with the classroom team and "
    "cafeteria staff. Two epinephrine auto-injectors in the health office, expiry 03/2027; "
    "one goes with the class on field trips.",
    "Seizure action plan reviewed with the teacher, the aide and the bus driver. Rescue "
    "medication kept in the health office; call 911 if a seizure lasts more than 5 "
    "minutes.",
    "Asthma action plan on file. Albuterol inhaler with spacer kept in the health office; "
    "the student may carry a second inhaler for PE. Used before the fitness test today, "
    "no further symptoms.",
    "Type 1 diabetes: blood glucose checked before lunch and before PE, 142 mg/dL today. "
    "Insulin per the diabetes medical management plan; snacks allowed in class.",
    "Vision screening: right eye 20/50, referred for a full eye exam. Letter with the "
    "results sent home.",
    "Seen in the health office for a headache after lunch. Temperature 98.4 F; rested 15 "
    "minutes and returned to class. Parent not called.",
    "Back at school after surgery. Physician's note limits PE and recess activity for four "
    "weeks; elevator pass issued and teachers informed.",
    "Daily medication changed by the physician (new order on file from 1/12). Old "
    "medication returned to the parent and logged.",
)

COUNSELOR_NOTES = (
    "Weekly check-in agreed with the family; the student will meet the counselor on "
    "Tuesdays during advisory.",
    "Family shared that sleep has been poor since a change in housing. Referred to the "
    "district family liaison with the parent's consent.",
    "Grief support after a grandparent's death last month. With the parent's agreement, "
    "teachers know that extra time on assignments is fine for two weeks.",
    "Parent asked for a referral to community counseling. List of providers given and the "
    "release-of-information form sent home.",
    "Safety plan reviewed with the student and the guardian; copies given to both and "
    "kept in the counseling office.",
)

_PERIOD_WORDS = {"Q1": "first quarter", "Q2": "second quarter"}


def progress_note(
    template: str,
    *,
    hits: int,
    trials: int,
    growth: float,
    day: date,
    words: random.Random,
) -> str:
    """One logged observation: `template` filled with numbers that agree with each other
    (`hits` of `trials` today, `growth` from 0 at the start of the goal to 1 a year on).
    Now and then a second sentence follows, as staff add one."""
    misses = trials - hits
    text = template.format(
        hits=hits,
        trials=trials,
        misses=misses,
        pct=round(100 * hits / trials),
        wcpm=24 + round(30 * growth) + words.randint(-3, 4),
        errors=misses // 2 + words.randint(0, 1),
        corrections=words.randint(1, 3),
        prompts=max(1, misses),
        words=40 + round(60 * growth) + words.randint(0, 15),
        sentences=3 + hits // 3,
        exchanges=1 + hits // 2,
        minutes=4 + round(10 * growth) + words.randint(0, 3),
        present=min(5, 2 + round(3 * hits / trials)),
        few=1 + round(3 * hits / trials),
        arrival=words.randint(40, 59),
        score=min(4, 1 + round(2 * growth + hits / trials)),
        month=day.strftime("%b"),
    )
    if words.random() < 0.3:
        text = f"{text} {words.choice(FOLLOW_UPS)}"
    return text


def health_note(by_nurse: bool, words: random.Random) -> str:
    return words.choice(NURSE_NOTES if by_nurse else COUNSELOR_NOTES)


def _long_date(day: date) -> str:
    return f"{day.day} {day.strftime('%B')}"


def report_summary(
    plan: GoalPlan,
    period: str,
    checks: Sequence[tuple[date, int, int]],
    *,
    so_far: bool = False,
) -> str:
    """A progress report for families, in plain words: what the goal is about, how often
    progress was checked, where the student is and what helps at home. `checks` are the
    period's (day, hits, trials), oldest first, from non-sensitive notes only; nothing
    from a note is quoted."""
    quarter = _PERIOD_WORDS.get(period, "period")
    opening = (
        f"So far in the {quarter} we have worked on {plan.focus}."
        if so_far
        else f"In the {quarter} we worked on {plan.focus}."
    )
    if not checks:
        return (
            f"{opening} No progress checks were recorded for this goal in the {quarter}, "
            "because the team focused on the student's other goals. The goal stays in the "
            f"plan and we will check it again next quarter. {plan.home}"
        )
    first_day, last_day = checks[0][0], checks[-1][0]
    if len(checks) == 1:
        checked = f"We checked progress once, on {_long_date(first_day)}."
    else:
        times = "twice" if len(checks) == 2 else f"{len(checks)} times"
        checked = (
            f"We checked progress {times}, between {_long_date(first_day)} and "
            f"{_long_date(last_day)}."
        )
    _, start_hits, start_trials = checks[0]
    _, end_hits, end_trials = checks[-1]
    start, end = start_hits / start_trials, end_hits / end_trials
    latest = f"At the latest check the student was successful on {end_hits} of {end_trials} tries"
    if len(checks) > 1 and end > start + 0.05:
        trend = f"{latest}, up from {start_hits} of {start_trials} at the first check."
    elif len(checks) > 1 and end < start - 0.05:
        trend = f"{latest}, down from {start_hits} of {start_trials} at the first check."
    else:
        trend = f"{latest}."
    # Where the student stands: the period as a whole, weighted toward its end.
    average = sum(h / t for _, h, t in checks) / len(checks)
    standing_at = (average + end) / 2
    if standing_at >= 0.75:
        standing = "The student is on track to meet this goal by the annual review."
    elif standing_at >= 0.5:
        standing = (
            "The student is making steady progress toward the goal, and we will keep the "
            "same support next quarter."
        )
    else:
        standing = (
            "Progress is slower than we hoped, so we are adding a short daily practice "
            "session and will review the plan with you at the next meeting."
        )
    return f"{opening} {checked} {trend} {standing} {plan.home}"
