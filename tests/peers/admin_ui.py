#!/usr/bin/env python3
"""Drives postern's web admin UI in headless Chromium (Selenium), as tests/admin_ui.rs asks.

  admin_ui.py --url http://127.0.0.1:PORT --smtp 127.0.0.1:PORT --mail-root DIR \
              --super root:PW --domain-admin ann:PW --shots DIR

Scenario (each step asserts; the first failure exits 1 with a message):
 1. login page; superadmin logs in; dashboard
 2. adds domains shop.test (description with <script>, shown escaped) and other.test
 3. adds mailbox alice@shop.test, alias sales@shop.test -> alice, a catch-all, a DKIM key
    (TXT record shown), a domain quota; an alias target with <script> is refused and echoed
    escaped
 4. mail to sales@shop.test over SMTP lands in alice's Maildir; usage bar shows it
 4b. alias domain shop.example -> shop.test made on the alias-domains page: mail to
    alice@shop.example over SMTP lands in alice@shop.test's Maildir; deactivated and
    activated again; a domain with at most 1 mailbox refuses the second (error shown);
    another alias domain is deleted
 5. a message to an unreachable domain is deferred (and DKIM-signed with the new key):
    queue list, show, hold, release, delete
 6. DNS health page; CSRF: a form without its token gets 403 (browser and raw POST)
 7. domain admin of other.test: sees only other.test; shop.test pages, mailbox URLs, the
    queue, the alias domain of shop.test and a POST for shop.test are all 403
 8. alice logs in with her mailbox password, changes it, sets a vacation; new password works
 9. wrong passwords are throttled: after limits.auth_failures the right one gets 429 too
Screenshots of the main pages go to --shots.
"""
import argparse, http.cookiejar, os, re, smtplib, sys, time, urllib.error, urllib.parse, urllib.request

os.environ.setdefault("SE_OFFLINE", "true")
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Ui:
    def __init__(self, url, shots):
        self.url, self.shots = url.rstrip("/"), shots
        o = Options()
        o.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000", "--disable-dev-shm-usage"):
            o.add_argument(a)
        for attempt in range(3):  # chromedriver can be slow to come up on a loaded machine
            try:
                self.d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
                break
            except Exception as e:  # noqa: BLE001 - reported below when the last try fails
                print(f"starting chromium failed (attempt {attempt + 1}): {e}", file=sys.stderr)
                if attempt == 2:
                    raise
                time.sleep(2)
        self.d.set_page_load_timeout(120)

    def get(self, path):
        self.d.get(self.url + path)

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def h1(self):
        found = self.d.find_elements(By.TAG_NAME, "h1")
        return found[0].text if found else ""

    def shot(self, name):
        os.makedirs(self.shots, exist_ok=True)
        # The whole page: grow the window to the document's height first.
        h = self.d.execute_script("return document.documentElement.scrollHeight")
        self.d.set_window_size(1280, max(800, min(int(h) + 200, 5000)))
        self.d.save_screenshot(os.path.join(self.shots, name + ".png"))
        self.d.set_window_size(1280, 1000)

    def form(self, form_id, fields, submit=True):
        f = self.d.find_element(By.ID, form_id)
        for name, value in fields.items():
            el = f.find_element(By.NAME, name)
            if el.tag_name == "select":
                el.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
            elif el.get_attribute("type") == "checkbox":
                if el.is_selected() != bool(value):
                    el.click()
            else:
                el.clear()
                el.send_keys(value)
        if submit:
            self.click(f.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    def click(self, el):
        """Clicks and waits until the next page replaced this one (a marker set on this
        page is gone and the new one is loaded). Errors while the page is being swapped
        ("node does not belong to the document") are part of waiting."""
        self.d.execute_script("window.__posternOldPage = true")
        el.click()
        end = time.time() + 120
        while time.time() < end:
            try:
                if self.d.execute_script("return window.__posternOldPage === undefined && document.readyState === 'complete'"):
                    return
            except WebDriverException:
                pass
            time.sleep(0.1)
        fail(f"no new page within 120 s after a click at {self.d.current_url}")

    def flash_ok(self, needle):
        ok = self.d.find_elements(By.ID, "flash-ok")
        err = self.d.find_elements(By.ID, "flash-err")
        check(ok and needle in ok[0].text, f"expected success {needle!r}; page says {err[0].text if err else self.text()[:400]!r}")

    def flash_err(self):
        err = self.d.find_elements(By.ID, "flash-err")
        check(err, f"expected an error message; page: {self.text()[:400]!r}")
        return err[0].text

    def login(self, name, password):
        self.get("/login")
        self.form("login", {"username": name, "password": password})

    def logout(self):
        self.click(self.d.find_element(By.CSS_SELECTOR, "form.logout button"))
        check("/login" in self.d.current_url, "logout leads to the login page")

    def no_scripts(self):
        check(not self.d.find_elements(By.TAG_NAME, "script"), "a <script> element reached the page")

    def cookie_opener(self):
        """urllib with the browser's session cookie (for raw requests)."""
        jar = http.cookiejar.CookieJar()
        host = urllib.parse.urlparse(self.url).hostname
        for c in self.d.get_cookies():
            jar.set_cookie(http.cookiejar.Cookie(0, c["name"], c["value"], None, False, host, False, False, "/", True,
                                                 False, None, False, None, None, {}))

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    def raw(self, method, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            r = self.cookie_opener().open(req, timeout=60)
            return r.status, r.read().decode(errors="replace"), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace"), dict(e.headers)

    def csrf(self):
        return self.d.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")


def wait_file(dir_, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        files = [os.path.join(dir_, f) for f in os.listdir(dir_)] if os.path.isdir(dir_) else []
        if files:
            return files
        time.sleep(0.3)
    fail(f"nothing arrived in {dir_} within {timeout}s")


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--smtp", "--mail-root", "--super", "--domain-admin", "--shots"):
        ap.add_argument(a, required=True)
    ap.add_argument("--auth-failures", type=int, default=5)
    args = ap.parse_args()
    root, root_pw = args.super.split(":", 1)
    ann, ann_pw = args.domain_admin.split(":", 1)
    ui = Ui(args.url, args.shots)
    try:
        run(ui, args, root, root_pw, ann, ann_pw)
    except Exception:
        # Where it stopped, for the test's failure message.
        try:
            print(f"at {ui.d.current_url}: {ui.text()[:800]!r}", file=sys.stderr)
        except Exception:  # noqa: BLE001
            pass
        raise
    finally:
        ui.d.quit()
    print("OK admin UI scenario passed")


def run(ui, args, root, root_pw, ann, ann_pw):
    d = ui.d
    # 1. login, dashboard, security headers
    ui.get("/")
    check("/login" in d.current_url, "an anonymous visitor is sent to the login page")
    status, _, headers = ui.raw("GET", "/login")
    h = {k.lower(): v for k, v in headers.items()}
    check(status == 200, f"GET /login: {status}")
    check("default-src 'none'" in h.get("content-security-policy", ""), f"CSP header: {h}")
    check(h.get("x-frame-options") == "DENY" and h.get("referrer-policy") == "no-referrer", f"frame/referrer headers: {h}")
    ui.shot("login")
    ui.login(root, root_pw)
    check(ui.h1() == "Dashboard", f"superadmin lands on the dashboard, got {ui.h1()!r}: {ui.text()[:300]}")
    cookie = [c for c in d.get_cookies() if c["name"] == "postern_admin"]
    check(cookie and cookie[0]["httpOnly"] and cookie[0].get("sameSite") == "Strict", f"session cookie flags: {cookie}")

    # 2. domains (description with <script> is text, not markup)
    evil = "<script>alert('x')</script> & co"
    ui.get("/domains")
    ui.form("add-domain", {"domain": "shop.test", "description": evil})
    ui.flash_ok("domain shop.test added")
    ui.get("/domains")
    ui.form("add-domain", {"domain": "other.test", "description": "the other one"})
    ui.flash_ok("domain other.test added")
    ui.get("/domains")
    check(evil in ui.text(), "the description is shown as text")
    check("&lt;script&gt;" in d.page_source or "&lt;script" in d.page_source, "the description is escaped in the HTML")
    ui.no_scripts()
    ui.shot("domains")

    # 3. mailbox, alias, catch-all, DKIM key on shop.test
    ui.get("/domains/shop.test")
    ui.form("add-mailbox", {"local": "alice", "name": "Alice Example", "password": "alice-pw-1", "quota": "10"})
    ui.flash_ok("mailbox alice@shop.test added")
    ui.form("add-alias", {"local": "sales", "targets": "alice@shop.test"})
    ui.flash_ok("alias sales@shop.test added")
    ui.form("add-alias", {"local": "", "targets": "alice@shop.test"})
    ui.flash_ok("alias @shop.test added")
    bad = "<script>alert(1)</script>@shop.test"
    ui.form("add-alias", {"local": "evil", "targets": bad})
    msg = ui.flash_err()
    check("<script>" in msg, f"the refused target is echoed as text: {msg!r}")
    ui.no_scripts()
    ui.form("add-dkim", {"selector": "s2026", "algorithm": "rsa"})
    ui.flash_ok("DKIM key s2026 generated")
    txt = d.find_element(By.ID, "dkim-s2026").text
    check(txt.startswith("s2026._domainkey.shop.test. IN TXT") and "v=DKIM1; k=rsa; p=" in txt, f"TXT record: {txt!r}")
    ui.form("edit-domain", {"quota": "50"})
    ui.flash_ok("domain shop.test saved")
    check("of the domain quota of 50.0 MiB" in d.find_element(By.ID, "domain-usage").text, "domain quota shown")
    check(d.find_element(By.ID, "domain-description").get_attribute("value") == evil, "the description survives an edit")
    ui.get("/domains/other.test")
    ui.form("add-mailbox", {"local": "bob", "password": "bob-pw", "quota": ""})
    ui.flash_ok("mailbox bob@other.test added")

    # 4. SMTP to the alias lands in alice's Maildir
    host, port = args.smtp.rsplit(":", 1)
    with smtplib.SMTP(host, int(port), local_hostname="client.test", timeout=60) as s:
        s.sendmail("someone@example.net", ["sales@shop.test"],
                   b"From: someone@example.net\r\nTo: sales@shop.test\r\nSubject: via the alias\r\n\r\nhello alice\r\n")
    new = os.path.join(args.mail_root, "shop.test", "alice", "new")
    files = wait_file(new)
    body = open(files[0], "rb").read()
    check(b"Subject: via the alias" in body and b"hello alice" in body, f"delivered message: {body[:300]!r}")
    ui.get("/mailboxes/alice@shop.test")
    check("of 10.0 MiB" in ui.text() and "0 B of" not in ui.text(), f"usage shown: {ui.text()[:500]!r}")
    ui.form("vacation", {"active": True, "subject": "Away", "body": "Back on Monday.", "until": "2099-01-31"})
    ui.flash_ok("vacation of alice@shop.test saved")
    ui.shot("mailbox")
    ui.get("/domains/shop.test")
    ui.shot("domain")

    # 4b. an alias domain: mail for alice@shop.example is alice@shop.test's
    ui.get("/domains")
    ui.form("add-domain", {"domain": "shop.example", "description": "alias of shop.test"})
    ui.flash_ok("domain shop.example added")
    ui.get("/alias-domains")
    check(ui.h1() == "Alias domains", f"alias domains page: {ui.h1()!r}")
    ui.form("add-alias-domain", {"alias_domain": "shop.example", "target_domain": "shop.test"})
    ui.flash_ok("alias domain shop.example added")
    row = d.find_element(By.ID, "alias-domains").text
    check("shop.example shop.test active" in row, f"alias domain listed: {row!r}")
    ui.form("add-alias-domain", {"alias_domain": "shop.test", "target_domain": "shop.test"})
    check("target_domain" in ui.flash_err(), "an alias domain of itself is refused, naming the field")
    with smtplib.SMTP(host, int(port), local_hostname="client.test", timeout=60) as s:
        s.sendmail("someone@example.net", ["alice@shop.example"],
                   b"From: someone@example.net\r\nTo: alice@shop.example\r\nSubject: via the alias domain\r\n\r\nhello again\r\n")
    end = time.time() + 60
    while time.time() < end and len(os.listdir(new)) < 2:
        time.sleep(0.3)
    bodies = [open(os.path.join(new, f), "rb").read() for f in os.listdir(new)]
    check(any(b"Subject: via the alias domain" in b for b in bodies), f"mail to alice@shop.example in alice@shop.test's Maildir: {len(bodies)} files")
    ui.click(d.find_element(By.CSS_SELECTOR, "form[action='/alias-domains/shop.example'] button"))
    ui.flash_ok("alias domain shop.example deactivated")
    check("shop.example shop.test inactive" in d.find_element(By.ID, "alias-domains").text, "shown inactive")
    ui.click(d.find_element(By.CSS_SELECTOR, "form[action='/alias-domains/shop.example'] button"))
    ui.flash_ok("alias domain shop.example activated")
    ui.shot("alias-domains")
    # per-domain limits: at most 1 mailbox
    ui.get("/domains")
    ui.form("add-domain", {"domain": "tiny.test", "max_mailboxes": "1", "max_quota": "20"})
    ui.flash_ok("domain tiny.test added")
    check(d.find_element(By.ID, "domain-max-mailboxes").get_attribute("value") == "1", "the limit is shown in the domain form")
    ui.form("add-mailbox", {"local": "big", "password": "pw-big", "quota": "30"})
    msg = ui.flash_err()
    check("quota" in msg and "max_quota" in msg, f"a quota above max_quota is refused: {msg!r}")
    ui.form("add-mailbox", {"local": "first", "password": "pw-first", "quota": "10"})
    ui.flash_ok("mailbox first@tiny.test added")
    ui.form("add-mailbox", {"local": "second", "password": "pw-second", "quota": "10"})
    msg = ui.flash_err()
    check("limit of 1 mailboxes" in msg and "max_mailboxes" in msg, f"the second mailbox is refused: {msg!r}")
    check("second@tiny.test" not in d.find_element(By.ID, "mailboxes").text, "no second mailbox")
    check("1 of at most 1" in d.find_element(By.ID, "mailbox-count").text, "count against the limit shown")
    ui.shot("domain-limits")
    ui.get("/alias-domains")
    ui.form("add-alias-domain", {"alias_domain": "tiny.test", "target_domain": "shop.test"})
    ui.flash_ok("alias domain tiny.test added")
    ui.click(d.find_element(By.CSS_SELECTOR, "form[action='/alias-domains/tiny.test/delete'] button"))
    ui.flash_ok("alias domain tiny.test deleted")
    check("tiny.test" not in d.find_element(By.ID, "alias-domains").text, "deleted alias domain gone")

    # 5. the queue: a deferred message, shown and acted on
    with smtplib.SMTP(host, int(port), local_hostname="client.test", timeout=60) as s:
        s.sendmail("alice@shop.test", ["someone@unreachable-host.net"],
                   b"From: alice@shop.test\r\nTo: someone@unreachable-host.net\r\nSubject: stuck\r\n\r\nwaits\r\n")
    end = time.time() + 60
    while True:
        ui.get("/queue?state=deferred")
        rows = d.find_elements(By.CSS_SELECTOR, "#queue td.mono a")
        if rows or time.time() > end:
            break
        time.sleep(1)
    check(rows, f"a deferred message in the queue: {ui.text()[:500]!r}")
    ui.shot("queue")
    ui.get("/")
    check(int(d.find_element(By.ID, "total-accepted").text) >= 2, "dashboard counts accepted messages")
    check(int(d.find_element(By.ID, "queue-size").text) >= 1, "dashboard shows the queue size")
    ui.shot("dashboard")
    ui.get("/queue")
    ui.click(d.find_element(By.CSS_SELECTOR, "#queue td.mono a"))
    headers = d.find_element(By.CSS_SELECTOR, "pre.mono").text
    check("DKIM-Signature:" in headers and "d=shop.test" in headers and "s=s2026" in headers,
          f"the UI's new DKIM key signs at once: {headers[:600]!r}")
    ui.click(d.find_element(By.ID, "queue-hold"))
    ui.flash_ok("hold: done")
    check(d.find_element(By.ID, "message-state").text == "held", "held")
    ui.shot("queue-message")
    ui.click(d.find_element(By.ID, "queue-release"))
    ui.flash_ok("release: done")
    ui.click(d.find_element(By.ID, "queue-retry"))
    ui.flash_ok("retry: done")
    ui.click(d.find_element(By.ID, "queue-delete"))
    ui.flash_ok("deleted")

    # 6. DNS health; CSRF
    ui.get("/domains/shop.test/dns")
    check(d.find_elements(By.CSS_SELECTOR, "#dns tr.st-fail, #dns tr.st-warn, #dns tr.st-ok"), f"DNS findings: {ui.text()[:400]!r}")
    ui.shot("dns")
    ui.get("/domains")
    d.execute_script("document.querySelector('#add-domain input[name=csrf]').remove()")
    ui.form("add-domain", {"domain": "nocsrf.test"})
    check("403" in ui.h1() and "CSRF" in ui.text(), f"a form without its CSRF token gets 403: {ui.text()[:300]!r}")
    status, _, _ = ui.raw("POST", "/domains", {"domain": "nocsrf2.test"})
    check(status == 403, f"raw POST without CSRF: {status}")
    status, _, _ = ui.raw("POST", "/domains", {"domain": "nocsrf3.test", "csrf": "forged"})
    check(status == 403, f"raw POST with a forged CSRF token: {status}")
    ui.get("/domains")
    check("nocsrf" not in ui.text(), "no domain was added without the token")
    ui.logout()

    # 7. the domain admin of other.test
    ui.login(ann, ann_pw)
    check("/domains" in d.current_url, f"a domain admin lands on the domains: {d.current_url}")
    check("other.test" in ui.text() and "shop.test" not in ui.text(), f"only their domain listed: {ui.text()[:400]!r}")
    ui.shot("domain-admin")
    for path in ("/domains/shop.test", "/mailboxes/alice@shop.test", "/domains/shop.test/dns", "/queue", "/"):
        ui.get(path)
        if path == "/":
            check("/domains" in d.current_url, "a domain admin has no dashboard")
            continue
        check(ui.h1() == "403", f"{path} is forbidden for the domain admin: {ui.h1()!r} {ui.text()[:200]!r}")
        check("alice" not in ui.text() or path.startswith("/mailboxes"), f"{path} shows nothing of shop.test")
        status, body, _ = ui.raw("GET", path)
        check(status == 403, f"GET {path} as the domain admin: {status}")
    ui.get("/alias-domains")
    check("shop.example" not in d.find_element(By.ID, "alias-domains").text, "the alias domain of shop.test is not listed")
    check("shop.test" not in d.find_element(By.ID, "add-alias-domain").text, "shop.test cannot be chosen")
    ui.get("/domains/other.test")
    token = ui.csrf()
    for path, data in (("/alias-domains/shop.example", {"active": "on"}), ("/alias-domains/shop.example/delete", {}),
                       ("/alias-domains", {"alias_domain": "other.test", "target_domain": "shop.test"}),
                       ("/alias-domains", {"alias_domain": "shop.test", "target_domain": "other.test"})):
        status, _, _ = ui.raw("POST", path, dict(data, csrf=token))
        check(status == 403, f"POST {path} as the domain admin: {status}")
    for path, data in (("/aliases", {"domain": "shop.test", "local": "x", "targets": "bob@other.test"}),
                       ("/mailboxes/alice@shop.test/password", {"password": "hijack", "confirm": "hijack"}),
                       ("/domains/shop.test/delete", {}), ("/domains", {"domain": "mine.test"})):
        data = dict(data, csrf=token)
        status, _, _ = ui.raw("POST", path, data)
        check(status == 403, f"POST {path} as the domain admin (valid CSRF): {status}")
    ui.logout()

    # 8. mailbox owner self-service
    ui.login("alice@shop.test", "alice-pw-1")
    check("/account" in d.current_url, f"a mailbox owner lands on their account: {d.current_url} {ui.text()[:200]!r}")
    check(d.find_element(By.NAME, "subject").get_attribute("value") == "Away", "own vacation shown")
    ui.form("own-password", {"current": "alice-pw-1", "password": "alice-pw-2", "confirm": "alice-pw-2"})
    ui.flash_ok("password changed")
    ui.form("vacation", {"active": True, "subject": "Out", "body": "Away until February.", "until": "2099-02-28"})
    ui.flash_ok("vacation of alice@shop.test saved")
    ui.shot("account")
    ui.get("/domains")
    check(ui.h1() == "403", "a mailbox owner cannot see domains")
    ui.get("/account")
    ui.logout()
    ui.login("alice@shop.test", "alice-pw-2")
    check("/account" in d.current_url, "the new password works")
    ui.logout()

    # 9. throttle: wrong passwords, then even the right one is refused (429)
    ui.login("alice@shop.test", "alice-pw-1")  # the old password: failure 1
    check("wrong name or password" in ui.flash_err(), "old password refused")
    for _ in range(args.auth_failures):
        ui.login(root, "not-the-password")
    ui.login(root, root_pw)
    check(ui.h1() == "429" and "Too many failed logins" in ui.text(), f"throttled: {ui.h1()!r} {ui.text()[:200]!r}")


if __name__ == "__main__":
    main()
