"""The web view in a real browser (headless Chromium via Selenium) against the real daemon:
sign-in, the ticket list and its filters, a ticket's story, the promise record, operations, and
who may see and do what."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from gateway.web.routes import local_target
from tests.conftest import ENGINES, PEOPLE
from tests.postgres import Postgres
from tests.web import Site, browser, post_form, sign_in, site, submit, text


@pytest.fixture(scope="module", params=ENGINES)
def story(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    """The seeded site, on each engine (the web view's queries are the store's)."""
    # Nora is an SC with no account yet (a new hire): her list is empty, never an error.
    over: dict[str, object] = {
        "people": [*PEOPLE, {"name": "Nora New", "address": "nora@example.com", "role": "sc"}]
    }
    if request.param == "postgresql":
        server: Postgres = request.getfixturevalue("postgres_server")
        over["database"] = {"url": server.database()}
    with site(tmp_path_factory.mktemp("web"), **over) as s:
        yield s


def keys_listed(driver: object) -> list[str]:
    return [
        a.text
        for a in driver.find_elements(By.CSS_SELECTOR, "#tickets td:first-child a")  # type: ignore[attr-defined]
    ]


def test_an_sc_follows_their_customers_ticket_from_first_mail_to_resolution(
    story: Site, tmp_path: Path
) -> None:
    with browser(tmp_path) as b:
        b.get(story.url + "/tickets/SUP-1001")
        assert "/login" in b.current_url, "nothing is shown before signing in"
        sign_in(b, story.url, "casey@example.com", go=False)
        assert b.current_url.endswith("/tickets/SUP-1001"), "back to the page asked for"
        assert text(b, "#who") == "Casey Consultant (sc)"
        assert text(b, "#state") == "resolved"
        story_text = text(b, "#timeline")
        assert "Our export fails with error E42" in story_text, "the customer's first mail"
        assert "Fixed in 4.2: the export works again." in story_text, "the SE's answer"
        kinds = [e.text for e in b.find_elements(By.CSS_SELECTOR, "#timeline .kind")]
        assert kinds[0] == "acknowledge" and "ack" in kinds and "reply" in kinds
        assert "se-copy" not in kinds, "the SE's copy (with the relay address) stays with staff"
        assert "relay" not in kinds and "support+sup-1001." not in story_text.lower(), (
            "nor the SE's own mail to the relay address: the SC reads the reply the customer got"
        )
        assert not b.find_elements(By.CSS_SELECTOR, "a.raw"), "raw messages are for leads"
        fates = [e.text for e in b.find_elements(By.CSS_SELECTOR, "#dates td.fate")]
        assert any(f.startswith("met") for f in fates), fates
        assert text(b, "#owner") == "sam@example.com"
        b.get(story.url + "/tickets")
        assert keys_listed(b) == ["SUP-1001"], "an SC sees only their accounts' tickets"


def test_filters_and_search_find_the_ticket(story: Site, tmp_path: Path) -> None:
    with browser(tmp_path) as b:
        sign_in(b, story.url, "sam@example.com")
        assert sorted(keys_listed(b)) == ["SUP-1001", "SUP-1002"], "an SE sees every ticket"
        engineers = [
            o.get_attribute("value")
            for o in b.find_elements(By.CSS_SELECTOR, "select[name=se] option")
        ]
        assert "lee@example.com" not in engineers and "sam@example.com" in engineers, engineers
        b.get(story.url + "/tickets?account=Globex")
        assert keys_listed(b) == ["SUP-1002"]
        b.get(story.url + "/tickets?state=resolved")
        assert keys_listed(b) == ["SUP-1001"]
        box = b.find_element(By.NAME, "q")
        box.clear()
        box.send_keys("invoice export")
        submit(b, b.find_element(By.CSS_SELECTOR, "#filters button").click)
        assert keys_listed(b) == [], "search keeps the other filters (state resolved)"
        b.get(story.url + "/tickets?q=NVOICE+EXP")
        assert keys_listed(b) == ["SUP-1002"], "any part of the subject, in any case"
        b.get(story.url + "/tickets?q=bob%40globex")
        assert keys_listed(b) == ["SUP-1002"], "any part of the customer's address"
        b.get(story.url + "/tickets?q=%22%29+OR+1%3D1+--")
        assert keys_listed(b) == [], "a search is text, never query syntax"
        b.get(story.url + "/tickets?q=%3Ccustomer-2%40globex.example%3E")
        assert keys_listed(b) == ["SUP-1002"], "found by the customer's Message-ID"
        b.get(story.url + "/tickets?q=sup-1001")
        assert keys_listed(b) == ["SUP-1001"], "found by key"
        b.get(story.url + "/tickets?due=24h")
        assert keys_listed(b) == ["SUP-1002"], "Bob's reply date is tomorrow 10:00 (24 h)"
        b.get(story.url + "/tickets?due=overdue")
        assert keys_listed(b) == []
        assert "0 tickets" in text(b, "#count")


def test_an_sc_is_refused_another_accounts_ticket_and_every_operations_action(
    story: Site, tmp_path: Path
) -> None:
    with browser(tmp_path) as b:
        sign_in(b, story.url, "casey@example.com")
        b.get(story.url + "/tickets/SUP-1002")
        assert "account you are not the consultant of" in text(b, "#refused")
        assert "Invoice export" not in b.page_source
        b.get(story.url + "/ops")
        assert "operations are for leads and engineers" in text(b, "#refused")
        b.get(story.url + "/report")
        assert "promise record is for leads" in text(b, "#refused")
        b.get(story.url + "/tickets")
        token = b.find_element(By.NAME, "csrf").get_attribute("value")
        held = story.scalar("SELECT min(id) FROM inbox WHERE state = 'quarantined'")
        post_form(b, f"/ops/inbox/{held}/release", {"csrf": token})
        refused = text(b, "#refused")
        assert "only leads act on quarantine" in refused, "a valid form, but an SC may not act"
        assert story.scalar(f"SELECT state FROM inbox WHERE id = {held}") == "quarantined"


def test_an_scs_home_is_their_accounts_board(story: Site, tmp_path: Path) -> None:
    with browser(tmp_path) as b:
        sign_in(b, story.url, "robin@example.com")
        assert b.current_url.rstrip("/") == story.url, "signed in, at home"
        assert "Globex: 1 open ticket(s)" in text(b, "#summary")
        board = text(b, "main")
        assert "New tickets (1)" in board and "SUP-1002 (Globex, bob@globex.example)" in board
        assert "SUP-1001" not in board, "another SC's account"
        b.find_element(By.LINK_TEXT, "SUP-1002").click()
        assert text(b, "#state") == "new"
        b.delete_all_cookies()
        sign_in(b, story.url, "casey@example.com")
        board = text(b, "main")
        assert "Resolved (1)" in board and "SUP-1001 (Acme, jane@acme.example)" in board
        b.delete_all_cookies()
        sign_in(b, story.url, "sam@example.com")
        assert b.current_url.endswith("/tickets"), "an SE's home is the ticket list"


def test_what_no_row_and_no_account_has_is_an_answer_not_an_error(
    story: Site, tmp_path: Path
) -> None:
    huge = "99999999999999999999"
    with browser(tmp_path) as b:
        story.passwords("nora@example.com")
        sign_in(b, story.url, "nora@example.com")
        assert "No account names you as its SC" in text(b, "#summary"), "an SC's home: a board"
        b.get(story.url + "/tickets")
        assert keys_listed(b) == [] and "0 tickets" in text(b, "#count"), "an SC with no account"
        b.get(story.url + "/tickets?due=overdue&page=2")
        assert keys_listed(b) == []
        b.delete_all_cookies()
        sign_in(b, story.url, "lee@example.com")
        b.get(story.url + f"/tickets?page={huge}")
        assert keys_listed(b) == [] and "Internal Server Error" not in b.page_source
        b.get(story.url + f"/ops/inbox/{huge}")
        assert "Not in quarantine" in b.page_source
        b.get(story.url + f"/mail/in/{huge}")
        assert "no such message" in b.page_source


def test_a_post_without_the_csrf_token_is_refused(story: Site, tmp_path: Path) -> None:
    held = story.scalar("SELECT max(id) FROM inbox WHERE state = 'quarantined'")
    with browser(tmp_path) as b:
        sign_in(b, story.url, "lee@example.com")
        b.get(story.url + "/ops")
        post_form(b, f"/ops/inbox/{held}/release", {"go": "release"})
        assert "did not come from this site" in text(b, "#refused")
    assert story.scalar(f"SELECT state FROM inbox WHERE id = {held}") == "quarantined"
    assert story.scalar("SELECT count(*) FROM web_actions") == 0


def test_a_lead_sees_the_promise_record_and_releases_quarantined_mail(
    story: Site, tmp_path: Path
) -> None:
    with browser(tmp_path) as b:
        sign_in(b, story.url, "lee@example.com")
        b.get(story.url + "/report?since=2026-11-01&until=2026-11-30")
        overall = text(b, "#overall")
        assert "Tickets received 2026-11-01 to 2026-11-30: 2." in overall
        assert "Dates kept: 100% (1/1)" in overall, "Sam's reply came before its date"
        charts = b.find_elements(By.CSS_SELECTOR, "svg.chart")
        titles = [c.get_attribute("aria-label") for c in charts]
        assert "Dates kept" in titles and "Dates kept, by engineer" in titles
        week = b.find_element(By.CSS_SELECTOR, "svg.chart[aria-label='Dates kept'] rect + rect")
        assert float(week.get_attribute("height") or 0) > 100, "a full column: every date kept"
        assert (
            b.find_element(By.ID, "csv")
            .get_attribute("href")
            .endswith("/report.csv?since=2026-11-01&until=2026-11-30")
        )
        # Any dates may be asked for: the weeks counted are those that can hold tickets.
        b.get(story.url + "/report?since=0001-01-01&until=9999-12-31")
        assert "Tickets received 0001-01-01 to 9999-12-31: 2." in text(b, "#overall")
        b.get(story.url + "/ops")
        health = text(b, "#health")
        assert "True" not in health and "False" not in health, "words, not Python"
        assert "yes" in health or "no" in health, health
        rows = b.find_elements(By.CSS_SELECTOR, "#quarantine tbody tr")
        assert len(rows) == 2 and "empty message" in rows[0].text
        held = story.scalar("SELECT min(id) FROM inbox WHERE state = 'quarantined'")
        submit(b, b.find_element(By.ID, f"inbox-{held}-release").click)
        assert text(b, "#done") == f"message {held} is marked handled; no mail was sent"
        assert len(b.find_elements(By.CSS_SELECTOR, "#quarantine tbody tr")) == 1
        assert "lee@example.com" in text(b, "#actions")
        b.get(story.url + f"/mail/in/{held}")
        assert "text/plain" in b.execute_script("return document.contentType")
    assert story.scalar(f"SELECT state FROM inbox WHERE id = {held}") == "processed"
    assert story.scalar("SELECT who || ' ' || action FROM web_actions") == (
        "lee@example.com inbox release"
    )


def test_repeated_wrong_passwords_lock_the_address_out(tmp_path: Path) -> None:
    with site(tmp_path, seed=False, web={"login_attempts": 3}) as s, browser(tmp_path) as b:
        s.passwords("lee@example.com", "sam@example.com")
        for _ in range(3):
            sign_in(b, s.url, "lee@example.com", "wrong password!")
            assert text(b, "#error") == "That address and password do not match."
        sign_in(b, s.url, "lee@example.com")
        assert "Too many wrong passwords" in text(b, "#error"), "locked, right password or not"
        assert "/login" in b.current_url
        sign_in(b, s.url, "sam@example.com")
        assert text(b, "#who") == "Sam Engineer (se)", (
            "the same client, but nobody tried Sam's address: Sam is not locked out"
        )
        b.delete_all_cookies()
        s.restart()
        sign_in(b, s.url, "lee@example.com")
        assert "Too many wrong passwords" in text(b, "#error"), "a restart forgets no lockout"
        s.clock.advance(timedelta(minutes=16))
        sign_in(b, s.url, "lee@example.com")
        assert text(b, "#who") == "Lee Lead (lead)", "the lockout ends"


def test_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    """A client that names itself anew in X-Forwarded-For each try is still one client, unless
    a trusted proxy set the header."""

    def attempt(s: Site, address: str, forwarded: str) -> int:
        return s.login(address, "wrong password!", {"X-Forwarded-For": forwarded})

    untrusted = {"web": {"login_attempts": 3, "trusted_proxies": ["192.0.2.1"]}}
    with site(tmp_path / "a", seed=False, **untrusted) as s:
        s.passwords("lee@example.com")
        codes = [attempt(s, f"guess{n}@example.com", f"198.51.100.{n}") for n in range(3)]
        assert codes == [401, 401, 401]
        assert attempt(s, "guess0@example.com", "198.51.100.99") == 429, (
            "the header from an untrusted peer changed nothing: one client, over its limit"
        )
        assert s.login("lee@example.com", s.password, {}) == 303, "Lee was never tried"
    with site(tmp_path / "b", seed=False, web={"login_attempts": 3}) as s:  # loopback trusted
        codes = [attempt(s, "guess@example.com", f"198.51.100.{n}") for n in range(4)]
        assert codes == [401, 401, 401, 429], "the address locks whoever tries it next"
        assert attempt(s, "other@example.com", "198.51.100.7") == 401, (
            "behind a trusted proxy each forwarded client counts on its own"
        )


def test_signed_out_only_health_and_metrics_answer(story: Site) -> None:
    def get(path: str) -> tuple[int, str, str]:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kw: object) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(story.url + path, timeout=10) as r:
                return r.status, r.headers.get("Location", ""), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location", ""), e.read().decode()

    status, _, body = get("/healthz")
    assert status in (200, 503)
    assert json.loads(body) == {
        "ok": status == 200,
        "status": "up" if status == 200 else "degraded",
    }, "signed out: up or degraded, never which addresses or relay errors fail"
    assert get("/metrics")[0] == 200
    for path in ("/tickets", "/tickets/SUP-1001", "/report", "/report.csv", "/ops", "/mail/in/1"):
        status, location, _ = get(path)
        assert status == 303 and location.startswith("/login?next="), path


def test_a_trusted_header_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    def who(s: Site, header: str) -> int:
        req = urllib.request.Request(s.url + "/tickets", headers={"X-Forwarded-Email": header})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return int(r.status) if "Lee Lead" in r.read().decode() else 0
        except urllib.error.HTTPError as e:
            return e.code

    trusted = {"web": {"trusted_header": "X-Forwarded-Email"}}
    with site(tmp_path / "a", seed=False, **trusted) as s:
        assert who(s, "lee@example.com") == 200
        assert who(s, "mallory@evil.example") != 200, "only configured people"
    untrusted = {"web": {"trusted_header": "X-Forwarded-Email", "trusted_proxies": ["::1"]}}
    with site(tmp_path / "b", seed=False, **untrusted) as s:
        assert who(s, "lee@example.com") != 200, "a header from anyone else is ignored"


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/tickets/SUP-1001", "/tickets/SUP-1001"),
        ("/tickets?state=new&page=2", "/tickets?state=new&page=2"),
        ("//evil.example/login", "/tickets"),
        ("/\\evil.example", "/tickets"),
        ("https://evil.example/", "/tickets"),
        ("javascript:alert(1)", "/tickets"),
        ("/\t/evil.example", "/tickets"),
        ("", "/tickets"),
    ],
)
def test_after_sign_in_only_a_page_of_this_site(asked: str, goes: str) -> None:
    assert local_target(asked) == goes


def test_signing_out_or_a_new_password_ends_the_session_and_its_copies(
    story: Site, tmp_path: Path
) -> None:
    def opens(cookie: str) -> bool:
        req = urllib.request.Request(
            story.url + "/tickets", headers={"Cookie": f"support_gateway={cookie}"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return "Robin Reseller" in r.read().decode()  # else the sign-in page

    with browser(tmp_path / "a") as b:
        sign_in(b, story.url, "robin@example.com")
        cookie = b.get_cookie("support_gateway")["value"]
        assert opens(cookie), "a copy of the cookie works while the session lasts"
        submit(b, b.find_element(By.CSS_SELECTOR, "form.signout button").click)
        assert "/login" in b.current_url
    assert not opens(cookie), "signing out ends the copies too"
    with browser(tmp_path / "b") as b:
        sign_in(b, story.url, "robin@example.com")
        cookie = b.get_cookie("support_gateway")["value"]
    assert opens(cookie)
    story.passwords("robin@example.com")  # support-gateway passwd: a new password
    assert not opens(cookie), "a new password ends every session signed in before it"


def test_a_stale_sign_in_or_sign_out_form_is_refused_not_an_error(story: Site) -> None:
    """A sign-in page left open past its session, or a forged sign-out: a 403 that says to
    reload, never a server error."""
    for path in ("/login", "/logout"):
        req = urllib.request.Request(
            story.url + path,
            data=b"csrf=stale&address=lee%40example.com&password=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError(f"{path} took a form without its token")
        except urllib.error.HTTPError as e:
            assert e.code == 403, (path, e.code)
            assert "reload the page" in e.read().decode()
