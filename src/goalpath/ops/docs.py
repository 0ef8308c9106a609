"""Interactive API docs served from our own host.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline script;
the Content-Security-Policy forbids both, so the app turns it off (`docs_url=None`) and
uses this page, whose assets are vendored under web/static (see vendor/VERSIONS.md).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

import goalpath.web
from goalpath.errors import NotFound

STATIC_DIR = Path(goalpath.web.__file__).parent / "static"
DOCS_PATH = "/api/docs"

docs_router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API documentation</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<noscript>The API documentation needs JavaScript. The raw schema is at
<a href="{openapi_url}">{openapi_url}</a>.</noscript>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs-init.js"></script>
</body>
</html>
"""


@docs_router.get(DOCS_PATH, response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    app: FastAPI = request.app
    if app.openapi_url is None:
        raise NotFound("The API schema is not published.")
    page = _PAGE.format(title=escape(app.title), openapi_url=escape(app.openapi_url))
    return HTMLResponse(page)


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
