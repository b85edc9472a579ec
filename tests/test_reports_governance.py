"""The report site under its configured role: no PII leaves the governed layer, nothing leaves
the site.

- The project's site, built with the default role (analyst) from the session's shared
  generated warehouse (tests/site_support.py): no e-mail or phone pattern, and none of the
  warehouse's real e-mails, phones or names, in any file of the site folder (pages,
  search_index.json, CSV downloads, chart payloads); the footer names the role; in Chromium no
  request goes to another origin while every page loads and every chart is hovered, and no
  share / Chart Studio / cloud control exists.
- The site-build path of the governance matrix on the small semantic fixture: the role decides
  what a page shows (values from plain SQL), an account-manager site without an id fails
  closed.
"""

from __future__ import annotations

import functools
import http.server
import re
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb
import pytest

from custintel.core.settings import Settings, load_settings
from reports.site import build_site
from tests.conftest import write_config
from tests.semantic_support import MODEL_PATH, build_warehouse, fixture_frames
from tests.site_support import site_for

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
#: +1-212-555-0101, (212) 555-0101, 212.555.0101; not a run of dotted numbers (table cells
#: joined in the search index)
PHONE = re.compile(r"(?<![\d.])(\+?\d{1,3}[-. ])?\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}(?![\d.])")
TEXT_SUFFIXES = {".html", ".json", ".csv", ".js", ".map", ".css", ".xml", ".txt", ".md"}


@pytest.fixture(scope="module")
def analyst_site(generated_warehouse) -> tuple[Settings, Path]:
    return site_for(generated_warehouse, None)  # the configured default: analyst


def vendored(site: Path) -> dict[str, Path]:
    """Site files copied from a package (theme scripts, Plotly): their authors' e-mail
    addresses are in them, so they are checked for being the package's own bytes instead."""
    import material

    theme = Path(material.__file__).parent / "templates"
    found = {
        str(p.relative_to(site)): theme / p.relative_to(site)
        for p in (site / "assets").rglob("*")
        if p.is_file() and (theme / p.relative_to(site)).is_file()
    }
    from reports.plugin import ASSETS

    found.update(
        {
            f"assets/custintel/{name}": source
            for name, source in ASSETS.items()
            if name.startswith("plotly") and (site / "assets/custintel" / name).is_file()
        }
    )
    return found


def as_published(source: Path) -> bytes:
    """A vendored file as the site publishes it: source-map comments stripped."""
    from reports.plugin import _SOURCE_MAP

    if source.suffix not in (".js", ".css"):
        return source.read_bytes()
    return _SOURCE_MAP.sub("", source.read_text(encoding="utf-8")).encode("utf-8")


def site_texts(site: Path) -> dict[str, str]:
    return {
        str(path.relative_to(site)): path.read_text(errors="replace")
        for path in site.rglob("*")
        if path.is_file() and path.suffix in TEXT_SUFFIXES
    }


def pii(settings: Settings) -> dict[str, set[str]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select distinct email, phone, customer_name from warehouse.dim_customer"
        ).fetchall()
    return {
        "email": {r[0] for r in rows if r[0]},
        "phone": {r[1] for r in rows if r[1]},
        # the generated name without the hostile suffix the fixture appends
        "name": {r[2].split(" <script>")[0] for r in rows if r[2]},
    }


def test_default_site_role_is_analyst_and_the_footer_says_so(analyst_site) -> None:
    settings, site = analyst_site
    assert settings.reports.site_role == "analyst"
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 11
    for page in pages:
        text = page.read_text()
        if "md-footer" not in text:  # e.g. Material's 404 page is still a page with a footer
            continue
        assert 'data-role="analyst"' in text and "Built with the role <strong>analyst" in text


def test_no_pii_anywhere_in_the_site_folder(analyst_site) -> None:
    settings, site = analyst_site
    texts = site_texts(site)
    assert "search/search_index.json" in texts
    assert any(name.startswith("downloads/") and name.endswith(".csv") for name in texts)
    assert any("ci-chart-spec" in text for text in texts.values())
    known = pii(settings)
    assert known["email"] and known["phone"] and known["name"]
    copies = vendored(site)
    assert len(copies) > 5
    for name, source in copies.items():
        assert (site / name).read_bytes() == as_published(source), name
    for name, text in texts.items():
        if name not in copies:
            assert not EMAIL.search(text), (name, EMAIL.search(text)[0])
        assert not PHONE.search(text), (name, PHONE.search(text)[0])
        for kind in ("email", "phone", "name"):
            leaked = [value for value in known[kind] if value in text]
            assert not leaked, (name, kind, leaked[:3])


def test_customer_360_shows_masked_contacts_computed_from_the_warehouse(analyst_site) -> None:
    settings, site = analyst_site
    pages = sorted((site / "customers").glob("*.html"))
    assert pages
    customer = pages[0].stem
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        (email,) = con.execute(
            "select email from marts.customer_360_view where customer_id = ?", [customer]
        ).fetchone()
    text = pages[0].read_text()
    domain = email.split("@")[1] if email else None
    if domain:  # the model's analyst mask keeps the domain only
        assert f"***@{domain}" in text
    assert "***-****" in text  # the phone mask
    assert "Customer 360: *** masked ***" in text


# -- in the browser ---------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        """No access log in the test output."""


@pytest.fixture(scope="module")
def base_url(analyst_site) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(analyst_site[1]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from tests.test_reports_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


SHARE_CONTROLS = """() => Array.from(document.querySelectorAll(
    '.modebar-btn, a, button')).filter(el => /chart studio|cloud|plotly\\.com|plot\\.ly/i
    .test([el.getAttribute('data-title'), el.getAttribute('title'), el.getAttribute('href'),
           el.getAttribute('data-attr'), el.textContent].join(' '))).map(el => el.outerHTML
    .slice(0, 200))"""
FOREIGN_LINKS = """(origin) => Array.from(document.querySelectorAll('[href], [src], [action]'))
    .map(el => el.href || el.src || el.action).filter(u => typeof u === 'string' && u &&
      !u.startsWith(origin) && !u.startsWith('#') && !u.startsWith('javascript:') &&
      !u.startsWith('data:') && !u.startsWith('blob:') && !u.startsWith('about:'))"""


@pytest.mark.browser
def test_no_request_leaves_the_site_and_no_share_control_exists(
    analyst_site, base_url, browser
) -> None:
    site = analyst_site[1]
    origin = urlparse(base_url)
    foreign: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def record(request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if (url.scheme, url.netloc) != (origin.scheme, origin.netloc):
            foreign.append(request.url)

    page.on("request", record)
    page.route(
        re.compile(r"^(?!" + re.escape(base_url) + r")https?://.*"), lambda route: route.abort()
    )  # record, never reach the network
    hovered = 0
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))
    for relative in pages:
        page.goto(f"{base_url}/{relative}", wait_until="load")
        page.wait_for_function(
            "document.querySelectorAll('figure.ci-chart:not([data-drawn=true])').length === 0"
        )
        for figure in page.locator("figure.ci-chart .ci-plot:visible").all():
            figure.scroll_into_view_if_needed()
            box = figure.bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
            hovered += 1
        assert page.evaluate(SHARE_CONTROLS) == [], relative
        assert page.evaluate(FOREIGN_LINKS, base_url) == [], relative
        modebar = page.evaluate(
            "() => Array.from(document.querySelectorAll('.modebar-btn'))"
            ".map(b => b.getAttribute('data-attr') + ':' + "
            "b.getAttribute('data-val'))"
        )
        assert not [b for b in modebar if "cloud" in b.lower() or "studio" in b.lower()]
    page.close()
    assert hovered > 0
    assert foreign == []


# -- the site-build path of the matrix, on the small semantic fixture ---------------------------

PAGE = """\
    # Contacts

    ```query contacts
    dimensions: [customer_360.customer_id, customer_360.email]
    measures: [customer_360.revenue]
    order: {customer_360.customer_id: asc}
    ```

    ```table
    data: contacts
    download: true
    ```
"""


def fixture_settings(tmp_path: Path, role: str) -> Settings:
    docs = tmp_path / "pages"
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "index.md").write_text(textwrap.dedent(PAGE))
    config = write_config(
        tmp_path,
        semantic={"model_path": str(MODEL_PATH)},
        reports={"pages_path": str(docs), "site_role": role},
    )
    settings = load_settings(config)
    build_warehouse(settings.warehouse_path)
    return settings


@pytest.mark.parametrize("role", ["analyst", "executive"])
def test_site_role_decides_what_pages_and_downloads_show(tmp_path: Path, role: str) -> None:
    site = build_site(fixture_settings(tmp_path, role))
    customers = fixture_frames()["customers"]
    text = (site / "index.html").read_text()
    csv = next((site / "downloads").rglob("*.csv")).read_text()
    for email in customers.email:
        masked = "***@" + email.split("@")[1]
        if role == "executive":
            assert email in text and email in csv
        else:
            assert email not in text and email not in csv
            assert masked in csv
    assert f'data-role="{role}"' in text


def test_account_manager_site_without_an_id_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="account_manager_id"):
        build_site(fixture_settings(tmp_path, "account_manager"))


def test_workflow_runs_the_diff_only_for_same_repository_pull_requests() -> None:
    import yaml

    root = Path(__file__).resolve().parents[1]
    text = (root / ".github" / "workflows" / "metric-diff.yml").read_text()
    workflow = yaml.safe_load(text)
    job = workflow["jobs"]["metric-diff"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert list(triggers) == ["pull_request"]  # never pull_request_target (secrets, write token)
    assert "fork" in text  # the reason is written down
    assert job["env"]["CUSTINTEL_SEMANTIC__REVIEWER_ROLE"] == "analyst"
