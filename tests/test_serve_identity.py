"""Who may see what in the served report app (`custintel serve`, reports/serve/session.py):
the pages, `/_app/*` and the Customer 360 follow the identity of the Cube API, a verified JWT.

Attacks, each checked against the shared generated warehouse and its built site (analyst):
no token (401), a forged signature, an expired token, a wrong audience, an unsigned token
(403), a role in a query parameter (ignored or refused), an open redirect after login, an
account manager asking for another manager's customer by id (404, the name nowhere), the
customer search returning names to a role that may not see them. Expected customers and names
come from SQL on the warehouse, not from the app.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import httpx
import pytest

from custintel.core.settings import Settings
from reports.serve.app import create_app, served_engine
from reports.serve.session import COOKIE, LocalLogin
from tests.serve_support import AUDIENCE, SECRET, running, token

EXECUTIVE = {"role": "executive"}
ANALYST = {"role": "analyst"}
MASK = "*** masked ***"


@dataclass
class Served:
    url: str
    settings: Settings
    local: LocalLogin

    def get(
        self, path: str, claims: dict | None = None, *, raw_token: str | None = None, **options
    ) -> httpx.Response:
        headers = {}
        if claims is not None or raw_token is not None:
            headers["Authorization"] = f"Bearer {raw_token or token(claims)}"
        return httpx.get(
            f"{self.url}{path}", headers=headers, timeout=120, follow_redirects=False, **options
        )


@pytest.fixture(scope="module")
def served(generated_warehouse, default_site) -> Iterator[Served]:
    settings, folder = default_site
    semantic = settings.semantic.model_copy(update={"token_audience": AUDIENCE})
    settings = settings.model_copy(update={"semantic": semantic})
    local = LocalLogin(settings.reports.site_role)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUBEJS_API_SECRET", SECRET)
        app = create_app(
            settings, site_dir=folder, engine=served_engine(settings), local_login=local
        )
        with running(app) as url:
            yield Served(url, settings, local)


@pytest.fixture(scope="module")
def customers(generated_warehouse) -> list[tuple[str, str, str | None]]:
    """(id, name, account manager) of every current customer, from the warehouse."""
    with duckdb.connect(str(generated_warehouse.settings.warehouse_path), read_only=True) as con:
        return con.execute(
            "select customer_id, customer_name, account_manager_id "
            "from marts.customer_360_view order by customer_id"
        ).fetchall()


def _forged(claims: dict) -> str:
    return token(claims, secret="not-the-server-secret-0123456789abcdef0123")


def _unsigned(claims: dict) -> str:
    def part(body: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()

    import time

    body = {**claims, "aud": AUDIENCE, "exp": int(time.time()) + 600}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}."


PATHS = [
    "/executive-overview.html",
    "/",
    "/_app/render?page=/executive-overview.html",
    "/_app/customers?q=C",
    "/_app/info",
    "/customers/C0001.html",
    "/search/search_index.json",
    "/sitemap.xml",
]


@pytest.mark.parametrize("path", PATHS)
def test_no_token_is_401(served: Served, path: str) -> None:
    response = served.get(path)
    assert response.status_code == 401, response.text[:200]
    assert "sign in" in response.text.lower()


@pytest.mark.parametrize(
    "spoiled, reason",
    [
        (lambda: _forged(EXECUTIVE), "signature"),
        (lambda: token(EXECUTIVE, expires_in=-60), "expired"),
        (lambda: token(EXECUTIVE, audience="someone-else"), "audience"),
        (lambda: token(EXECUTIVE, audience=None), "aud"),
        (lambda: _unsigned(EXECUTIVE), "Invalid token"),
        (lambda: "garbage.not.ajwt", "Invalid token"),
    ],
)
@pytest.mark.parametrize(
    "path", ["/executive-overview.html", "/_app/customers?q=C", "/_app/render?page=/index.html"]
)
def test_bad_tokens_are_403_in_a_header_or_a_cookie(
    served: Served, spoiled, reason: str, path: str
) -> None:
    bad = spoiled()
    by_header = served.get(path, raw_token=bad)
    by_cookie = httpx.get(f"{served.url}{path}", cookies={COOKIE: bad}, timeout=60)
    for response in (by_header, by_cookie):
        assert response.status_code == 403, response.text[:200]
        assert reason.lower() in response.text.lower()


def test_login_sets_an_httponly_cookie_and_never_redirects_off_site(served: Served) -> None:
    good = token(EXECUTIVE)
    response = httpx.get(
        f"{served.url}/_app/login",
        params={"token": good, "next": "/executive-overview.html?segment=SMB"},
        timeout=60,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/executive-overview.html?segment=SMB"
    cookie = response.headers["set-cookie"].lower()
    assert f"{COOKIE}=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        away = httpx.get(
            f"{served.url}/_app/login", params={"token": good, "next": target}, timeout=60
        )
        assert away.headers["location"] == "/"
    with httpx.Client(base_url=served.url, timeout=120) as browser:
        browser.get("/_app/login", params={"token": good}, follow_redirects=False)
        assert browser.get("/_app/info").json() == {"served": True, "roles": ["executive"]}
    refused = httpx.get(
        f"{served.url}/_app/login", params={"token": _forged(EXECUTIVE)}, timeout=60
    )
    assert refused.status_code == 403 and "set-cookie" not in refused.headers


def test_local_login_link_works_and_a_copy_with_another_secret_does_not(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=120) as browser:
        link = served.local.login_url(served.url).removeprefix(served.url)
        assert browser.get(link, follow_redirects=False).status_code == 303
        assert browser.get("/_app/info").json()["roles"] == [served.settings.reports.site_role]
    other = LocalLogin(served.settings.reports.site_role).token()
    assert served.get("/_app/info", raw_token=other).status_code == 403


def test_role_in_a_query_parameter_is_ignored_or_refused(served: Served, customers) -> None:
    customer, name, _ = customers[0]
    page = served.get(f"/customers/{customer}.html?role=executive", ANALYST)
    assert page.status_code == 200 and customer in page.text
    assert name.split("<")[0].strip() not in page.text and MASK in page.text
    found = served.get(f"/_app/customers?q={customer}&role=executive", ANALYST).json()
    assert [row["id"] for row in found["customers"]] == [customer]
    assert found["customers"][0]["name"] is None
    render = served.get("/_app/render?page=/executive-overview.html&role=executive", ANALYST)
    assert render.status_code == 400 and "no input 'role'" in render.json()["error"]


def test_customer_search_gives_names_only_to_roles_that_see_them(served: Served, customers) -> None:
    customer, name, _ = customers[1]
    executive = served.get(f"/_app/customers?q={customer}", EXECUTIVE).json()["customers"]
    assert executive == [{"id": customer, "name": name, "url": f"/customers/{customer}.html"}]
    analyst = served.get(f"/_app/customers?q={customer}", ANALYST).json()["customers"]
    assert analyst == [{"id": customer, "name": None, "url": f"/customers/{customer}.html"}]
    fragment = name.split()[0]
    by_name = served.get("/_app/customers", EXECUTIVE, params={"q": fragment}).json()
    assert customer in [row["id"] for row in by_name["customers"]]
    assert served.get("/_app/customers", ANALYST, params={"q": fragment}).json()["customers"] == []
    masked = served.get("/_app/customers", ANALYST, params={"q": "masked"}).json()
    assert masked["customers"] == []  # the search never reads names for an analyst


def test_account_manager_sees_only_their_customers(served: Served, customers) -> None:
    managed = [row for row in customers if row[2]]
    manager = managed[0][2]
    own = [row for row in managed if row[2] == manager]
    other = next(row for row in managed if row[2] != manager)
    claims = {"role": "account_manager", "account_manager_id": manager}
    mine = served.get(f"/customers/{own[0][0]}.html", claims)
    assert mine.status_code == 200 and own[0][1].split("<")[0].strip() in mine.text
    theirs = served.get(f"/customers/{other[0]}.html", claims)
    assert theirs.status_code == 404
    assert other[1].split("<")[0].strip() not in theirs.text
    assert (
        served.get(f"/customers/{other[0]}.html?account_manager_id={other[2]}", claims).status_code
        == 404
    )
    prefix = own[0][0][:2]
    found = served.get("/_app/customers", claims, params={"q": prefix}).json()["customers"]
    expected = sorted(row[0] for row in own if prefix in row[0])[:20]
    assert [row["id"] for row in found] == expected
    assert served.get(f"/_app/customers?q={other[0]}", claims).json()["customers"] == []


def test_other_roles_get_pages_rendered_for_them_not_the_built_files(
    served: Served, customers
) -> None:
    claims = {"role": "account_manager", "account_manager_id": customers[0][2] or "none"}
    page = served.get("/risk-revenue-prioritisation.html", claims)
    assert page.status_code == 200
    assert 'data-role="account_manager"' in page.text
    site_page = served.get("/risk-revenue-prioritisation.html", ANALYST)
    assert 'data-role="analyst"' in site_page.text and "Built with the role" in site_page.text
    index = served.get("/search/search_index.json", claims).json()
    assert index["docs"] == []
    assert served.get("/search/search_index.json", ANALYST).json()["docs"]
    csv = served.get("/downloads/risk-revenue-prioritisation/action_list.csv", claims)
    assert csv.status_code == 403
    assert (
        served.get("/downloads/risk-revenue-prioritisation/action_list.csv", ANALYST).status_code
        == 200
    )


def test_the_sign_in_form_posts_a_token(served: Served) -> None:
    form = httpx.get(f"{served.url}/executive-overview.html", timeout=60)
    assert form.status_code == 401 and 'name="token"' in form.text
    action = "/_app/login?next=%2Fexecutive-overview.html"
    assert f'action="{action}"' in form.text
    good = httpx.post(f"{served.url}{action}", data={"token": token(ANALYST)}, timeout=60)
    assert good.status_code == 303 and good.headers["location"] == "/executive-overview.html"
    bad = httpx.post(f"{served.url}{action}", data={"token": _forged(ANALYST)}, timeout=60)
    assert bad.status_code == 403 and "set-cookie" not in bad.headers
