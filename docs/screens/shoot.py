"""Screenshots of four Carnet pages, driven the way a person would reach them.

Run by shoot.sh with the worktree's own .venv (Playwright for Python, Debian's chromium):

    python shoot.py BASE_URL OUTDIR FAMILY_EMAIL FAMILY_PASSWORD PARTNER_EMAIL PARTNER_PASSWORD

Links are found by their visible French text first and known URLs second, because pages and
URLs differ between commits. A page that cannot be reached gets OUTDIR/<name>.missing.txt with
the reason instead of a PNG, and the other screenshots are still taken.
"""

from __future__ import annotations

import re
import sys
import traceback
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

from playwright.sync_api import Browser, Page, sync_playwright

WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 45_000  # the machine is shared and slow at times

BASE = ""
OUT = Path(".")
written: list[str] = []


class Missing(Exception):
    """The page could not be reached; the message says why."""


def log(message: str) -> None:
    print(f"[shoot.py] {message}", flush=True)


def url(path: str) -> str:
    return urljoin(BASE, path)


def path_of(page: Page) -> str:
    return urlparse(page.url).path


def note_missing(name: str, reason: str) -> None:
    target = OUT / f"{name}.missing.txt"
    target.write_text(reason.rstrip() + "\n", encoding="utf-8")
    written.append(str(target))
    log(f"{name}: MISSING — {reason.splitlines()[0]}")


def check_page(page: Page, name: str, *, allow_login: bool = False) -> None:
    """Refuse to save a login form or an error page under a page's name."""
    title = page.title()
    body = page.locator("body").inner_text(timeout=TIMEOUT_MS)[:400]
    if not allow_login and path_of(page).rstrip("/") in ("/login", "/auth/login"):
        raise Missing(f"{name}: landed on the login page ({page.url}), not the intended page")
    for marker in ("Internal Server Error", "Page introuvable", "Accès refusé", "Erreur interne"):
        if marker in title or marker in body[:200]:
            raise Missing(f"{name}: the page shows an error ({marker!r}) at {page.url}; title {title!r}")


def shoot(page: Page, name: str, viewport: dict[str, int]) -> None:
    page.set_viewport_size(viewport)
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # let the layout settle after a resize
    check_page(page, name)
    target = OUT / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    written.append(str(target))
    log(f"{name}: {page.url} — title {page.title()!r}")


def attempt(name: str, fn, *args) -> object:  # type: ignore[no-untyped-def]
    """Run one step; on failure write the note file and carry on."""
    try:
        return fn(*args)
    except Missing as exc:
        note_missing(name, str(exc))
    except Exception as exc:
        note_missing(name, f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
    return None


def goto(page: Page, target: str) -> None:
    response = page.goto(url(target), wait_until="load")
    if response is not None and response.status >= 400:
        raise Missing(f"GET {target} answered {response.status}")


def follow(page: Page, texts: list[str], fallback: str | None, *, scope: str = "body") -> str:
    """Click the first link whose visible text matches one of `texts`; else go to `fallback`."""
    for text in texts:
        pattern = re.compile(text, re.IGNORECASE)
        links = page.locator(scope).get_by_role("link", name=pattern)
        if links.count():
            href = links.first.get_attribute("href")
            links.first.click()
            page.wait_for_load_state("load")
            log(f"  followed « {text} » → {href}")
            return "text"
    if fallback is None:
        raise Missing(f"no link {texts} on {page.url}")
    log(f"  no link {texts} on {page.url}: going to {fallback}")
    goto(page, fallback)
    return "url"


def sign_in(browser: Browser, email: str, password: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    goto(page, "/")
    follow(page, [r"^\s*Se connecter\s*$", r"connexion", r"J'ai déjà un compte"], "/login")
    form = page.locator("form:has(input[type=password])").first
    try:
        form.get_by_label(re.compile("e-mail|courriel|adresse", re.I)).first.fill(email, timeout=5_000)
    except Exception:
        form.locator("input[name=email], input[type=email]").first.fill(email)
    form.locator("input[type=password]").first.fill(password)
    button = form.get_by_role("button", name=re.compile("connecter|connexion", re.I))
    (button.first if button.count() else form.locator("[type=submit]").first).click()
    page.wait_for_load_state("load")
    if path_of(page).rstrip("/") in ("/login", "/auth/login"):
        raise Missing(
            f"signing in as {email} failed: still on {page.url}: {page.locator('main').inner_text()[:300]!r}"
        )
    log(f"signed in as {email}: landed on {page.url}")
    return page


# --- the pages -----------------------------------------------------------------------------------


def catalog_1280(browser: Browser) -> None:
    context = browser.new_context(viewport=WIDE, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        goto(page, "/")
        follow(page, [r"^\s*Catalogue\s*$", r"Voir les activités", r"catalogue"], "/catalogue")
        shoot(page, "catalog-1280", WIDE)
    finally:
        context.close()


def home_family(page: Page) -> None:
    """The page the family landed on after the login form (whatever it is in this commit)."""
    landed = page.url
    for name, viewport in (("home-family-390", PHONE), ("home-family-1280", WIDE)):

        def one(name: str = name, viewport: dict[str, int] = viewport) -> None:
            if page.url != landed:
                page.goto(landed, wait_until="load")
            shoot(page, name, viewport)

        attempt(name, one)


SEATS = re.compile(r"(\d+)\s+places?\s+(?:restantes?|disponibles?|libres?)", re.I)
PRICE = re.compile(r"(\d+)\s+coupons?", re.I)


def activity_candidates(page: Page) -> list[dict[str, str]]:
    """Activity links of the catalog page, simple activities first (no DUO, family or request)."""
    cards = page.evaluate(
        """() => Array.from(document.querySelectorAll('main a[href*="/activites/"]')).map(a => {
            const card = a.closest('article, li, .card') || a.parentElement;
            return {href: a.getAttribute('href'), title: a.innerText.trim(),
                    text: card ? card.innerText : ''};
        })"""
    )
    seen, simple, other = set(), [], []
    for card in cards:
        if card["href"] in seen or not card["title"]:
            continue
        seen.add(card["href"])
        special = re.search(r"DUO|En famille|sur demande", card["text"], re.I)
        (other if special else simple).append(card)
    return simple + other


def reserve_links(page: Page) -> list[dict[str, object]]:
    """The « Réserver » links of an activity page with the price and seats of their session."""
    links = page.evaluate(
        """() => Array.from(document.querySelectorAll('main a, main button')).filter(
                 el => /Réserver/i.test(el.innerText)).map(el => {
            const box = el.closest('li, article, .card, section, tr') || el.parentElement.parentElement;
            return {href: el.getAttribute('href'), label: el.innerText.trim(),
                    text: box ? box.innerText : ''};
        })"""
    )
    found = []
    for link in links:
        if not link["href"]:
            continue
        price = PRICE.search(link["text"])
        seats = SEATS.search(link["text"])
        found.append(
            {
                **link,
                "price": int(price.group(1)) if price else 0,
                "seats": int(seats.group(1)) if seats else 0,
            }
        )
    return found


def find_booking_page(page: Page, partner_email: str) -> dict[str, str]:
    """catalog → activity → « Réserver », for a session with a price, open seats and a participant
    of the family who may come; the demo partner's own activities first, so that its session page
    has this booking to show."""
    goto(page, "/")
    follow(page, [r"^\s*Catalogue\s*$", r"Voir les activités", r"catalogue"], "/catalogue")
    catalog_url = page.url
    candidates = activity_candidates(page)
    log(f"  {len(candidates)} activities on the catalog's first page")
    fallback: dict[str, str] | None = None
    for card in candidates[:14]:
        if page.url != catalog_url:
            page.goto(catalog_url, wait_until="load")
        page.locator(f'main a[href="{card["href"]}"]').first.click()
        page.wait_for_load_state("load")
        text = page.locator("main").inner_text()
        mine = partner_email.lower() in text.lower()
        for link in reserve_links(page):
            if link["price"] <= 0 or link["seats"] <= 0:
                continue
            activity_url = page.url
            page.locator(f'main a[href="{link["href"]}"]').first.click()
            page.wait_for_load_state("load")
            boxes = page.locator("form input[type=checkbox][name^=participants]")
            if path_of(page).rstrip("/") in ("/login", "/auth/login") or not boxes.count():
                page.goto(activity_url, wait_until="load")
                break  # nobody of this family may come (age, audience): the next activity
            chosen = {
                "title": card["title"],
                "booking_url": page.url,
                "activity_url": activity_url,
                "price": str(link["price"]),
                "seats": str(link["seats"]),
                "partner": "yes" if mine else "no",
            }
            if mine:
                return chosen
            fallback = fallback or chosen
            break
    if fallback:
        return fallback
    raise Missing(
        "no session with a price, open seats and a participant who may come was found "
        f"among the catalog's first {min(len(candidates), 14)} activities"
    )


def booking(page: Page, partner_email: str) -> dict[str, str] | None:
    chosen = find_booking_page(page, partner_email)
    log(
        f"  booking page: « {chosen['title']} », {chosen['price']} coupons, {chosen['seats']} seats, "
        f"partner's own: {chosen['partner']} — {chosen['booking_url']}"
    )
    page.goto(chosen["booking_url"], wait_until="load")
    attempt("booking-1280", shoot, page, "booking-1280", WIDE)
    page.goto(chosen["booking_url"], wait_until="load")
    attempt("booking-390", shoot, page, "booking-390", PHONE)
    return chosen


def book_for_the_partner_page(page: Page, chosen: dict[str, str]) -> None:
    """Book one participant, so that the partner's session page lists someone. Older commits offer
    every participant and refuse the ones of the wrong age on submit: try each in turn."""
    page.goto(chosen["booking_url"], wait_until="load")
    count = page.locator("form input[type=checkbox][name^=participants]").count()
    for index in range(count):
        if index:
            page.goto(chosen["booking_url"], wait_until="load")
        boxes = page.locator("form input[type=checkbox][name^=participants]")
        boxes.nth(index).check()
        form = page.locator("form:has(input[type=checkbox][name^=participants])").first
        form.get_by_role("button", name=re.compile("Réserver", re.I)).first.click()
        page.wait_for_load_state("load")
        errors = page.locator("main .errors")
        if errors.count():
            log(f"  participant {index + 1}/{count} not booked: {errors.first.inner_text()[:150]!r}")
            continue
        heading = page.locator("h1").first.inner_text() if page.locator("h1").count() else ""
        log(f"  booked participant {index + 1}/{count}: now on {page.url} ({heading!r})")
        return
    raise Missing(f"none of the {count} participants could be booked on {chosen['booking_url']}")


def partner_session(browser: Browser, email: str, password: str, chosen: dict[str, str] | None) -> None:
    page = sign_in(browser, email, password, PHONE)
    try:
        session_id = None
        if chosen:
            session_id = parse_qs(urlparse(chosen["booking_url"]).query).get("session_id", [None])[0]
        if not re.search(r"/partenaire/activites/?$", path_of(page)):
            follow(page, [r"^\s*Espace partenaire\s*$", r"partenaire"], "/partenaire")
            follow(
                page,
                [r"Activités et séances", r"Gérer les activités", r"Mes activités", r"^\s*Activités\s*$"],
                "/partenaire/activites",
            )
        title = chosen["title"] if chosen and chosen["partner"] == "yes" else None
        if title and page.get_by_role("link", name=title, exact=True).count():
            page.get_by_role("link", name=title, exact=True).first.click()
            log(f"  followed « {title} »")
        else:
            activity = page.locator('main a[href*="/partenaire/activites/"]').filter(
                has_not_text=re.compile("Créer|nouvelle|Modifier|Archiver", re.I)
            )
            if not activity.count():
                raise Missing(f"no activity link on the partner's page {page.url}")
            log(f"  followed the partner's first activity « {activity.first.inner_text()} »")
            activity.first.click()
        page.wait_for_load_state("load")
        listed = page.locator(f'main a[href$="/seances/{session_id}"]') if session_id else None
        if listed is not None and listed.count():
            listed.first.click()
            log("  followed « Inscrits » of the booked session")
        else:
            names = re.compile(r"Inscrits|Participants|Réservations|Présences", re.I)
            links = page.get_by_role("link", name=names)
            if links.count():
                links.first.click()
                log("  followed the first « Inscrits »")
            elif session_id:
                goto(page, f"/partenaire/seances/{session_id}")
            else:
                raise Missing(f"no session link on {page.url}")
        page.wait_for_load_state("load")
        shoot(page, "partner-session-390", PHONE)
    finally:
        page.context.close()


def main() -> int:
    global BASE, OUT
    BASE, outdir, family_email, family_password, partner_email, partner_password = sys.argv[1:7]
    OUT = Path(outdir)
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--disable-gpu", "--disable-dev-shm-usage", "--no-sandbox", "--renderer-process-limit=2"],
        )
        try:
            attempt("catalog-1280", catalog_1280, browser)

            family = attempt("home-family-390", sign_in, browser, family_email, family_password, PHONE)
            chosen = None
            if family is None:
                for name in ("home-family-1280", "booking-1280", "booking-390"):
                    note_missing(name, "the family could not sign in (see home-family-390.missing.txt)")
            else:
                home_family(family)
                chosen = attempt("booking-1280", booking, family, partner_email)
                if chosen is None:
                    note_missing("booking-390", "no booking page found (see booking-1280.missing.txt)")
                else:
                    attempt("booking-submit", book_for_the_partner_page, family, chosen)
                family.context.close()

            attempt("partner-session-390", partner_session, browser, partner_email, partner_password, chosen)
        finally:
            browser.close()
    print("\n".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
