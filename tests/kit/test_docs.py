from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from goalpath.config import Settings
from goalpath.kit.headers import install_security_headers
from goalpath.kit.problems import install_problem_handlers
from goalpath.ops.docs import STATIC_DIR, docs_router, mount_static

OPENAPI_URL = "/api/v1/openapi.json"
VERSIONS = STATIC_DIR / "vendor" / "VERSIONS.md"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script = ""
        self.urls: list[str] = []
        self.styles: list[str] = []
        self.container: dict[str, str | None] | None = None
        self.lang: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        if tag == "style" or "style" in attributes:
            self.styles.append(tag)
        if attributes.get("id") == "swagger-ui":
            self.container = attributes
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_script += data.strip()


@pytest.fixture
def client() -> TestClient:
    app = FastAPI(title="Goalpath", openapi_url=OPENAPI_URL, docs_url=None, redoc_url=None)

    @app.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(docs_router)
    mount_static(app)
    install_security_headers(app, Settings())
    return TestClient(app)


def test_docs_page_loads_only_local_assets_without_inline_code(client: TestClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page = _Page()
    page.feed(response.text)
    assert page.lang == "en"
    assert "<title>" in response.text
    assert page.scripts
    assert all(script.get("src") for script in page.scripts)
    assert page.inline_script == ""
    assert page.styles == []
    assert not re.search(r"https?://|cdn", response.text, re.IGNORECASE)
    assert page.container is not None
    assert page.container["data-openapi-url"] == OPENAPI_URL
    for url in page.urls:
        # "//host/x" would be another host, too.
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
    assets = [url for url in page.urls if url.startswith("/static/")]
    assert len(assets) == 3


def test_docs_page_is_not_in_the_schema(client: TestClient) -> None:
    schema = client.get(OPENAPI_URL).json()
    assert "/api/v1/ping" in schema["paths"]
    assert "/api/docs" not in schema["paths"]


def test_scripts_are_served_as_javascript(client: TestClient) -> None:
    # nosniff makes the browser refuse scripts with any other type.
    for path in ("/static/docs-init.js", "/static/vendor/swagger-ui/swagger-ui-bundle.js"):
        content_type = client.get(path).headers["content-type"].split(";")[0]
        assert content_type in ("text/javascript", "application/javascript"), path
    css = client.get("/static/vendor/swagger-ui/swagger-ui.css")
    assert css.headers["content-type"].startswith("text/css")


def test_docs_init_reads_the_schema_url_from_the_page() -> None:
    script = (STATIC_DIR / "docs-init.js").read_text()
    assert "SwaggerUIBundle(" in script
    assert "dataset.openapiUrl" in script
    assert "validatorUrl: null" in script


def test_vendored_files_match_versions_md(client: TestClient) -> None:
    listed = dict(
        re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", VERSIONS.read_text(), re.MULTILINE)
    )
    expected = {
        "swagger-ui/swagger-ui-bundle.js",
        "swagger-ui/swagger-ui.css",
        "swagger-ui/LICENSE",
    }
    assert expected <= listed.keys()
    on_disk = {
        path.relative_to(STATIC_DIR / "vendor").as_posix()
        for path in (STATIC_DIR / "vendor").rglob("*")
        if path.is_file() and path.name != "VERSIONS.md"
    }
    # Every vendored file is listed, so none can be added or swapped unnoticed.
    assert on_disk == listed.keys()
    for name, sha256 in listed.items():
        response = client.get(f"/static/vendor/{name}")
        assert response.status_code == 200, name
        assert hashlib.sha256(response.content).hexdigest() == sha256, name


def test_docs_page_is_404_without_a_schema() -> None:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    app.include_router(docs_router)
    assert TestClient(app).get("/api/docs").status_code == 404
