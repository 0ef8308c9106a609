"""The home page: each person's day (SPEC section 14)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.home.service import IDLE_DAYS, LISTED, today
from goalpath.web.admin import sections_for
from goalpath.web.pages import HOME_PATH, PageActor, page_router, render

router = page_router()


@router.get(HOME_PATH)
def home(request: Request, actor: PageActor) -> Response:
    day = today(actor, app_settings(request))
    return render(
        request,
        "home.html",
        {
            "day": day,
            "idle_days": IDLE_DAYS,
            "listed": LISTED,
            "now": actor.info.now,
            "sections": sections_for(actor),
        },
    )
