"""A student's goals as a tree: the one place the tree is built, for the API's JSON,
the pages, the family report and report drafting.

Two rules, each stated once:

- *Shown*: a goal whose parent the reader cannot see is shown as a root, so nothing the
  reader may read is dropped (`Forest`).
- *Reported*: a progress report belongs to a root goal and covers its subtree. A goal
  whose chain of parents leaves what the reader can see belongs to no report the reader
  can draft: its events are reported nowhere rather than under a guess
  (`nearest_above`, `report_roots`).

Trees are walked with an explicit stack: a chain of goals may be deeper than Python's
recursion limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

# Any record with `id_goal` and `id_goal_parent`: an ORM goal, a row, an API model (the
# ORM's mapped attributes do not satisfy a Protocol, hence the looser bound).
Node = TypeVar("Node", bound=Any)


@dataclass(frozen=True)
class Step(Generic[Node]):
    """One step of a walk in document order: entering a goal (`goal` set) or leaving
    the children of the goal entered last (`goal` None)."""

    goal: Node | None
    depth: int
    has_children: bool = False


class Forest(Generic[Node]):
    """The goals as shown: ordered as given (by id, so siblings are too)."""

    def __init__(self, goals: Sequence[Node]) -> None:
        present = {goal.id_goal for goal in goals}
        self.children: dict[int | None, list[Node]] = {}
        for goal in goals:
            parent = goal.id_goal_parent if goal.id_goal_parent in present else None
            self.children.setdefault(parent, []).append(goal)

    @property
    def roots(self) -> list[Node]:
        return self.children.get(None, [])

    def walk(self) -> Iterator[Step[Node]]:
        """Every goal in document order, each followed (after its subtree) by a step
        that closes its children when it has any."""
        stack: list[Iterator[Node]] = [iter(self.roots)]
        while stack:
            goal = next(stack[-1], None)
            if goal is None:
                stack.pop()
                if stack:
                    yield Step(None, len(stack) - 1)
                continue
            kids = self.children.get(goal.id_goal)
            yield Step(goal, len(stack) - 1, bool(kids))
            if kids:
                stack.append(iter(kids))

    def in_order(self) -> list[tuple[Node, int]]:
        return [(step.goal, step.depth) for step in self.walk() if step.goal is not None]


def nearest_above(parent_of: Mapping[int, int | None], targets: Iterable[int]) -> dict[int, int]:
    """For every goal at or under one of `targets`, the nearest target above it (a
    target is its own). A chain that leaves `parent_of` (a parent the reader cannot
    see) reaches no target. A target outside `parent_of` still stands for itself.
    Each goal is walked once: a chain stops at the first goal already placed."""
    placed: dict[int, int | None] = {target: target for target in targets}
    for id_goal in parent_of:
        chain: list[int] = []
        walked: set[int] = set()
        current: int | None = id_goal
        found: int | None = None
        while current is not None:
            if current in placed:
                found = placed[current]
                break
            if current in walked or current not in parent_of:
                break
            chain.append(current)
            walked.add(current)
            current = parent_of[current]
        for member in chain:
            placed[member] = found
    return {id_goal: target for id_goal, target in placed.items() if target is not None}


def report_roots(parent_of: Mapping[int, int | None]) -> dict[int, int]:
    """For every goal, the root goal whose report covers it (a root is its own)."""
    return nearest_above(parent_of, [goal for goal, parent in parent_of.items() if parent is None])


@dataclass(frozen=True)
class TreeToken(Generic[Node]):
    kind: str  # "ul", "li", "/li" or "/ul": the nested list, written without recursion
    goal: Node | None = None
    depth: int = 0


@dataclass
class GoalTree(Generic[Node]):
    """The tree as a page lists it: the nested list's tokens, every goal in document
    order with its depth, and where each goal's subtree starts and ends in that order."""

    tokens: list[TreeToken[Node]]
    order: list[tuple[Node, int]]
    spans: dict[int, tuple[int, int]]  # goal -> [first, end) of its subtree in `order`

    @property
    def goals(self) -> dict[int, Node]:
        return {goal.id_goal: goal for goal, _depth in self.order}

    def movable_under(self, id_goal: int) -> list[tuple[Node, int]]:
        """The goals a goal may move under: every goal outside its own subtree."""
        first, end = self.spans[id_goal]
        return self.order[:first] + self.order[end:]

    def below(self, id_goal: int) -> list[Node]:
        """The goals of a goal's subtree, without the goal itself."""
        if id_goal not in self.spans:
            return []
        first, end = self.spans[id_goal]
        return [goal for goal, _depth in self.order[first + 1 : end]]

    def choices(self, exclude: int | None = None, title: str = "title") -> list[tuple[str, str]]:
        """(value, label) pairs for a select, indented by depth; without the subtree of
        `exclude` when it is given."""
        items = self.order if exclude is None else self.movable_under(exclude)
        return [
            (
                str(goal.id_goal),
                "\u2003" * depth + (getattr(goal, title, None) or f"Goal {goal.id_goal}"),
            )
            for goal, depth in items
        ]


def build_tree(goals: Sequence[Node]) -> GoalTree[Node]:
    """The goals as shown (`Forest`), as a nested list."""
    forest = Forest(goals)
    tree: GoalTree[Node] = GoalTree([], [], {})
    if not forest.roots:
        return tree
    tree.tokens.append(TreeToken("ul"))
    open_owners: list[Node] = []
    for step in forest.walk():
        if step.goal is None:
            owner = open_owners.pop()
            tree.tokens.append(TreeToken("/ul"))
            tree.spans[owner.id_goal] = (tree.spans[owner.id_goal][0], len(tree.order))
            tree.tokens.append(TreeToken("/li"))
            continue
        tree.tokens.append(TreeToken("li", step.goal, step.depth))
        tree.spans[step.goal.id_goal] = (len(tree.order), len(tree.order) + 1)
        tree.order.append((step.goal, step.depth))
        if step.has_children:
            tree.tokens.append(TreeToken("ul"))
            open_owners.append(step.goal)
        else:
            tree.tokens.append(TreeToken("/li"))
    tree.tokens.append(TreeToken("/ul"))
    return tree
