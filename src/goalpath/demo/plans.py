"""An annual goal as a plan writes it, with its short-term objectives (sub-goals), the
notes staff log against each, and the goal in a family's words for progress reports.

Titles and notes hold fields: a title's `{target}` is one of the plan's five targets; a
note's fields are filled by `texts.progress_note`: hits, trials, misses, pct, wcpm,
errors, corrections, prompts, words, sentences, exchanges, minutes, present (of 5), few
(1-4), score (1-4), arrival (minutes past 7), month.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Objective:
    """A short-term objective (a sub-goal) and the notes staff log against it."""

    title: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class GoalPlan:
    """An annual goal as a plan writes it. `title` holds `{target}`, one of `targets`;
    `focus` and `home` are the goal in a family's words, for progress reports."""

    category: str
    title: str
    targets: tuple[str, str, str, str, str]
    description: str
    objectives: tuple[Objective, Objective]
    notes: tuple[str, ...]
    focus: str
    home: str


def make_plan(
    category: str,
    title: str,
    targets: tuple[str, str, str, str, str],
    description: str,
    objectives: tuple[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]],
    notes: tuple[str, ...],
    focus: str,
    home: str,
) -> GoalPlan:
    first, second = objectives
    return GoalPlan(
        category,
        title,
        targets,
        description,
        (Objective(*first), Objective(*second)),
        notes,
        focus,
        home,
    )


def goal_title(plan: GoalPlan, level: int) -> str:
    return plan.title.format(target=plan.targets[level])
