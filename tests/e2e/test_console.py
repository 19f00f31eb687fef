"""End to end: the web console in a real browser.

Debian's chromium, headless, driven by chromium-driver through
python3-selenium (installed by scripts/install-deps.sh test), against the
real daemon on a loopback port. The browser creates the owner through the
one-time setup link the daemon logs, signs in, uploads reports through the
file input and reads their outcomes, switches to Bahasa Indonesia, and a
manager made with `stockwatch user add` (while the daemon runs) sees only
their store. curl plays the other site whose form posts must be refused.
Screenshots of every page, desktop and phone size (390x844), are written to
console-screenshots/ in the build folder."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import BINARY, sample

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import template_tool  # noqa: E402  (tests/support/template_tool.py, openpyxl)

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - reported as a skip below
    webdriver = None

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = os.path.join(os.path.dirname(os.path.abspath(BINARY)), "console-screenshots")
OWNER_PASSWORD = "kopi-tubruk-2024"
MANAGER_PASSWORD = "pisang-goreng-77"
MEDAN = sample("inventory-medan.csv")
MAKASSAR = sample("inventory-makassar.csv")


def browser(root):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--lang=en-US", f"--user-data-dir={os.path.join(root, 'chromium')}",
                "--window-size=1280,900"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@unittest.skipIf(webdriver is None or not os.path.exists(CHROMEDRIVER),
                 "needs chromium, chromium-driver and python3-selenium "
                 "(scripts/install-deps.sh test)")
class ConsoleTest(harness.PipelineTestCase):

    def setUp(self):
        self.env = self.make_env()
        self.env.write_config()
        with open(self.env.config, "a", encoding="utf-8") as f:
            f.write('\n[http]\nlisten = "127.0.0.1:0"\ntoken = "api-token"\n'
                    '\n[console]\nupload_wait_s = 30\n')
        self.env.start_daemon()
        log = self.env.daemon.log()
        m = re.search(r"http: listening on \S+ \(port (\d+)\)", log)
        self.assertIsNotNone(m, log)
        self.base = f"http://127.0.0.1:{m.group(1)}"
        self.files = os.path.join(self.env.root, "files")
        os.makedirs(self.files)
        self.driver = None

    def tearDown(self):
        if self.driver is not None:
            self.driver.quit()

    # --- helpers ---------------------------------------------------------------

    def open_browser(self):
        self.driver = browser(self.env.root)
        self.driver.set_page_load_timeout(60)
        os.makedirs(SCREENSHOTS, exist_ok=True)

    def go(self, path):
        self.driver.get(self.base + path)

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def shot(self, name):
        """The page at desktop size, and again at phone size (390x844)."""
        d = self.driver
        d.set_window_size(1280, 900)
        d.save_screenshot(os.path.join(SCREENSHOTS, f"{name}-desktop.png"))
        d.set_window_size(390, 844)
        d.save_screenshot(os.path.join(SCREENSHOTS, f"{name}-phone.png"))
        # Nothing wider than the phone's screen: the page does not scroll sideways.
        width = d.execute_script("return document.documentElement.scrollWidth")
        inner = d.execute_script("return window.innerWidth")
        self.assertLessEqual(width, inner, f"{name}: the page is wider than a phone")
        d.set_window_size(1280, 900)

    def click(self, element):
        """Clicks `element` and waits for the page it leads to (a mark left on
        the old page is gone), so nothing is read from the old one by mistake."""
        self.driver.execute_script("window.stockwatchOldPage = true")
        element.click()
        harness.wait_for(
            lambda: self.driver.execute_script("return window.stockwatchOldPage !== true"),
            "the next page", timeout=60)

    def submit(self, form_action):
        self.click(self.driver.find_element(
            By.CSS_SELECTOR, f"form[action='{form_action}'] button[type=submit]"))

    def sign_in(self, name, password):
        self.go("/_console/sign-in")
        self.driver.find_element(By.ID, "name").send_keys(name)
        self.driver.find_element(By.ID, "password").send_keys(password)
        self.submit("/_console/sign-in")

    def sign_out(self):
        self.submit("/_console/sign-out")
        harness.wait_for(lambda: "/_console/sign-in" in self.driver.current_url, "the sign-in page")

    def upload(self, *paths):
        """Uploads through the file input; the page's script sends the form
        and puts the answer in place (a fresh upload page has no outcome)."""
        self.go("/_console/upload")
        self.driver.find_element(By.ID, "files").send_keys("\n".join(paths))
        self.driver.find_element(
            By.CSS_SELECTOR, "form[action='/_console/upload'] button[type=submit]").click()
        return self.outcomes()

    def outcomes(self):
        harness.wait_for(lambda: self.driver.find_elements(By.CSS_SELECTOR, ".outcome"),
                         "the upload's outcome", timeout=60)
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, ".outcome")]

    def write(self, name, text):
        path = os.path.join(self.files, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return path

    def curl(self, *args):
        p = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        body, _, status = p.stdout.rpartition("\n")
        return int(status), body

    def download(self, session, path, name):
        """GET `path` with the session cookie into files/`name`: (status, content type, file)."""
        out = os.path.join(self.files, name)
        p = subprocess.run(["curl", "-sS", "-o", out, "-w", "%{http_code} %{content_type}",
                            "-H", f"Cookie: {session}", self.base + path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        status, _, content_type = p.stdout.partition(" ")
        return int(status), content_type, out

    def setup_link(self):
        m = re.search(r"console: no owner yet; .* at (http://\S+/_console/setup\?token=[0-9a-f]{64})",
                      self.env.daemon.log())
        self.assertIsNotNone(m, self.env.daemon.log())
        return m.group(1)

    def create_owner(self):
        self.driver.get(self.setup_link())
        self.shot("setup")
        self.driver.find_element(By.ID, "name").send_keys("owner")
        self.driver.find_element(By.ID, "password").send_keys(OWNER_PASSWORD)
        self.driver.find_element(By.ID, "password2").send_keys(OWNER_PASSWORD)
        self.submit("/_console/setup")
        harness.wait_for(lambda: self.driver.current_url.endswith("/_console/"), "the overview")

    # --- the tests ----------------------------------------------------------------

    def test_the_owner_and_a_manager_use_the_console(self):
        self.open_browser()
        self.go("/")
        self.assertTrue(self.driver.current_url.endswith("/_console/sign-in"), self.driver.current_url)
        self.assertIn("No owner account exists yet", self.text())
        self.shot("sign-in")

        # The first owner, through the one-time link; the link is then spent.
        link = self.setup_link()
        self.create_owner()
        self.assertIn("Signed in as owner", self.text())
        self.assertIn("No report has been loaded yet", self.text())
        self.shot("overview-empty")
        status, body = self.curl(link)
        self.assertEqual(status, 404)

        # The session cookie: invisible to scripts, never sent cross-site.
        cookie = self.driver.get_cookie("stockwatch_session")
        self.assertTrue(cookie["httpOnly"])
        self.assertEqual(cookie["sameSite"], "Strict")
        self.assertEqual(self.driver.execute_script("return document.cookie"), "")

        # Upload the Medan sample through the file input and read the outcome.
        outcomes = self.upload(MEDAN)
        self.assertEqual(len(outcomes), 1)
        self.assertRegex(outcomes[0], r"Loaded: 6 rows, 6 changed \(report \d+\)")
        self.shot("upload-loaded")

        # The zero item on the overview, without a click.
        self.go("/_console/")
        page = self.text()
        self.assertIn("1 store", page)
        self.assertIn("1 item out of stock", page)
        self.assertIn("Robusta Dairi", page)
        self.shot("overview")

        # This month's sheet for the store, from its link on the overview:
        # the store's items, as `stockwatch template` writes it.
        link = self.driver.find_element(By.CSS_SELECTOR, "a.sheet")
        self.assertEqual(link.get_attribute("href"), f"{self.base}/_console/sheet?store=Medan")
        self.assertEqual(link.text, "Download (.xlsx)")
        session = f"stockwatch_session={self.driver.get_cookie('stockwatch_session')['value']}"
        status, content_type, path = self.download(session, "/_console/sheet?store=Medan",
                                                   "medan-sheet.xlsx")
        self.assertEqual(status, 200)
        self.assertEqual(content_type,
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        sheet = template_tool.inspect(path)
        self.assertEqual(sheet["sheets"], ["Medan"])
        self.assertEqual(sheet["freeze_panes"], "A2")
        self.assertEqual(sorted((r[1], r[2]) for r in sheet["rows"]),
                         sorted([("Arabika Gayo", 24), ("Arabika Sidikalang", 13),
                                 ("Robusta Dairi", 0), ("Arabika Lintong", 18),
                                 ("Robusta Lampung", 9), ("Liberika Meranti", 11)]))
        status, _, _ = self.download(session, "/_console/sheet?store=Nowhere", "nowhere.xlsx")
        self.assertEqual(status, 404)

        # The same file again is a duplicate; a broken one is rejected line by line.
        outcomes = self.upload(MEDAN)
        self.assertRegex(outcomes[0], r"duplicate of report \d+")
        bad = self.write("broken.csv", "store,item,count\nMedan,Arabika Gayo,many\nMedan,,3\n")
        outcomes = self.upload(bad)
        self.assertIn("Rejected", outcomes[0])
        self.assertIn("line 2", outcomes[0])
        self.assertIn("line 3", outcomes[0])
        self.shot("upload-rejected")
        outcomes = self.upload(self.write("notes.txt", "hello"))
        self.assertIn("stockwatch reads reports as CSV files (.csv) or workbooks", outcomes[0])

        # Names holding markup are shown literally, and no script runs.
        hostile = self.write("hostile.csv",
                             'store,item,count\n'
                             '"<img src=x onerror=""document.title=\'pwned\'"">",'
                             '"<script>document.title=\'pwned\'</script> & \'quotes\'",0\n')
        outcomes = self.upload(hostile)
        self.assertIn("Loaded: 1 rows", outcomes[0])
        self.go("/_console/")
        page = self.text()
        self.assertIn("<script>document.title='pwned'</script> & 'quotes'", page)
        self.assertIn("<img src=x onerror=\"document.title='pwned'\">", page)
        self.assertNotEqual(self.driver.title, "pwned")
        with self.assertRaises(NoAlertPresentException):
            self.driver.switch_to.alert.text
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "main img, main script"), [])

        # The inventory: every row, then only the items at 0; the view as CSV.
        self.go("/_console/inventory")
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")), 7)
        self.shot("inventory")
        self.driver.find_element(By.NAME, "out").click()
        self.click(self.driver.find_element(By.CSS_SELECTOR, "form.filters button"))
        rows = self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        self.assertEqual(len(rows), 2)
        self.assertIn("Robusta Dairi", self.text())
        self.assertNotIn("Arabika Gayo", self.text())
        # Search by item name, through the form: letters without case.
        self.go("/_console/inventory")
        self.driver.find_element(By.ID, "q").send_keys("ROBUSTA")
        self.click(self.driver.find_element(By.CSS_SELECTOR, "form.filters button"))
        rows = [r.text for r in self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")]
        self.assertEqual(len(rows), 2, rows)
        self.assertIn("Robusta Dairi", rows[0])
        self.assertIn("Robusta Lampung", rows[1])
        self.assertEqual(self.driver.find_element(By.ID, "q").get_attribute("value"), "ROBUSTA")
        self.shot("inventory-search")
        # Sorted through the form: by count, lowest first; then by item.
        self.go("/_console/inventory")
        Select(self.driver.find_element(By.ID, "sort")).select_by_value("count")
        self.click(self.driver.find_element(By.CSS_SELECTOR, "form.filters button"))
        self.assertIn("sort=count", self.driver.current_url)
        counts = [int(td.text.replace(",", "")) for td in
                  self.driver.find_elements(By.CSS_SELECTOR, "tbody tr td:nth-child(3)")]
        self.assertEqual(len(counts), 7, counts)
        self.assertEqual(counts, sorted(counts))
        self.assertEqual(counts[0], 0)
        self.assertEqual(Select(self.driver.find_element(By.ID, "sort"))
                         .first_selected_option.get_attribute("value"), "count")
        self.shot("inventory-sorted")
        Select(self.driver.find_element(By.ID, "sort")).select_by_value("item")
        self.click(self.driver.find_element(By.CSS_SELECTOR, "form.filters button"))
        items = [td.text for td in
                 self.driver.find_elements(By.CSS_SELECTOR, "tbody tr td:nth-child(2)")]
        self.assertEqual(len(items), 7, items)
        self.assertEqual(items, sorted(items))
        session = f"stockwatch_session={self.driver.get_cookie('stockwatch_session')['value']}"
        status, body = self.curl("-H", f"Cookie: {session}",
                                 f"{self.base}/_console/inventory.csv?store=Medan&out=1")
        self.assertEqual(status, 200)
        self.assertEqual(body.splitlines()[0], "store,item,count,updated_at,report_id")
        self.assertRegex(body.splitlines()[1], r"^Medan,Robusta Dairi,0,")
        self.assertEqual(len(body.splitlines()), 2)

        # The ledger, newest first, and one report with its problems.
        self.go("/_console/reports")
        rows = self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        self.assertEqual(len(rows), 4)
        self.assertIn("loaded", rows[0].text)
        self.assertIn("rejected", rows[1].text)
        self.assertIn("duplicate", rows[2].text)
        self.shot("reports")
        self.click(rows[1].find_element(By.TAG_NAME, "a"))
        self.assertIn("line 2", self.text())
        self.shot("report-rejected")
        self.go("/_console/reports")
        self.click(self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")[3].find_element(By.TAG_NAME, "a"))
        self.driver.find_element(By.LINK_TEXT, "Download the original")
        self.shot("report")

        # The outbox: the alerts the uploads raised; and the daemon's state in words.
        self.go("/_console/alerts")
        self.assertIn(harness.RECIPIENT, self.text())
        self.assertGreaterEqual(len(self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")), 2)
        self.shot("alerts")
        self.go("/_console/status")
        self.assertIn("stockwatch is working.", self.text())
        self.assertIn("watched (inotify)", self.text())
        self.shot("status")

        # Bahasa Indonesia, remembered for the account.
        self.go("/_console/")
        self.submit("/_console/language")
        self.assertIn("Ringkasan", self.text())
        self.assertIn("barang habis", self.text())
        self.shot("overview-id")
        self.go("/_console/upload")
        self.assertIn("Unggah laporan", self.text())

        # The JSON API with the owner's session, no token.
        session = f"stockwatch_session={self.driver.get_cookie('stockwatch_session')['value']}"
        status, body = self.curl("-H", f"Cookie: {session}", f"{self.base}/api/inventory")
        self.assertEqual(status, 200, body)
        self.assertIn("Robusta Dairi", body)

        # Another site's form post is refused: without the token, and with
        # the token but from another origin.
        status, body = self.curl("-X", "POST", "-H", f"Cookie: {session}",
                                 "--data", "to=en", f"{self.base}/_console/language")
        self.assertEqual(status, 403)
        csrf = self.driver.find_element(By.NAME, "csrf").get_attribute("value")
        status, body = self.curl("-X", "POST", "-H", f"Cookie: {session}",
                                 "-H", "Origin: http://evil.example", "--data", f"to=en&csrf={csrf}",
                                 f"{self.base}/_console/language")
        self.assertEqual(status, 403)
        status, body = self.curl("-X", "POST", "-H", f"Cookie: {session}",
                                 "-H", "Sec-Fetch-Site: cross-site", "--data", f"to=en&csrf={csrf}",
                                 f"{self.base}/_console/language")
        self.assertEqual(status, 403)
        self.go("/_console/")
        self.assertIn("Ringkasan", self.text())   # nothing changed
        self.submit("/_console/language")
        self.assertIn("Overview", self.text())

        # A manager, added from the command line while the daemon runs.
        p = subprocess.run([BINARY, "user", "add", "makassar", "--role", "manager",
                            "--stores", "Makassar", "--config", self.env.config],
                           input=MANAGER_PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([BINARY, "user", "list", "--config", self.env.config],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("makassar  manager  stores: Makassar", p.stdout)
        self.sign_out()
        self.sign_in("makassar", MANAGER_PASSWORD)
        harness.wait_for(lambda: "Signed in as makassar" in self.text(), "the manager's overview")
        self.assertNotIn("Medan", self.text())
        outcomes = self.upload(MEDAN)
        self.assertIn("line 2 is for the store Medan", outcomes[0])
        self.assertIn("Makassar only", outcomes[0])
        outcomes = self.upload(MAKASSAR)
        self.assertIn("Loaded", outcomes[0])
        self.go("/_console/")
        self.assertIn("Arabika Kalosi", self.text())
        self.assertNotIn("Robusta Dairi", self.text())
        # The manager's own store's sheet, and no other's.
        links = self.driver.find_elements(By.CSS_SELECTOR, "a.sheet")
        self.assertEqual([a.get_attribute("href") for a in links],
                         [f"{self.base}/_console/sheet?store=Makassar"])
        session = f"stockwatch_session={self.driver.get_cookie('stockwatch_session')['value']}"
        status, _, path = self.download(session, "/_console/sheet?store=Makassar", "makassar.xlsx")
        self.assertEqual(status, 200)
        self.assertEqual(template_tool.inspect(path)["sheets"], ["Makassar"])
        for other in ("Medan", "medan"):
            status, _, _ = self.download(session, f"/_console/sheet?store={other}", "medan.xlsx")
            self.assertEqual(status, 404)
        self.go("/_console/reports")
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")), 1)
        self.go("/_console/reports/1")
        self.assertIn("Not found", self.text())
        self.go("/_console/reports/1/original")
        self.assertIn("Not found", self.text())
        self.go("/_console/status")
        self.assertIn("Not found", self.text())
        # The manager's alerts: the messages about Makassar, none about another
        # store, and no "Send again".
        self.go("/_console/alerts")
        harness.wait_for(lambda: self.driver.find_elements(By.CSS_SELECTOR, "tbody td:first-child a")
                         or self.driver.refresh(), "the manager's alert", timeout=60)
        self.assertIn("Alerts", self.driver.find_element(By.TAG_NAME, "nav").text)
        self.assertFalse(self.driver.find_elements(By.CSS_SELECTOR, "form[action$='/retry']"))
        self.shot("alerts-manager")
        hrefs = [a.get_attribute("href") for a in
                 self.driver.find_elements(By.CSS_SELECTOR, "tbody td:first-child a")]
        for href in hrefs:
            self.driver.get(href)
            self.assertIn("Makassar", self.text())
            self.assertNotIn("Robusta Dairi", self.text())
        self.shot("message-manager")
        others = self.env.query("SELECT id FROM outbox WHERE payload NOT LIKE '%Makassar%'")
        self.assertTrue(others)
        for (other,) in others:
            self.assertNotIn(f"{self.base}/_console/alerts/{other}", hrefs)
            status, _ = self.curl("-H", f"Cookie: {session}", f"{self.base}/_console/alerts/{other}")
            self.assertEqual(status, 404)
        self.go("/_console/no-such-page")
        self.assertIn("Not found", self.text())
        self.shot("not-found")
        session = f"stockwatch_session={self.driver.get_cookie('stockwatch_session')['value']}"
        status, _ = self.curl("-H", f"Cookie: {session}", f"{self.base}/api/inventory")
        self.assertEqual(status, 403)

        # A new password from the command line ends the manager's session;
        # a removed account cannot sign in.
        p = subprocess.run([BINARY, "user", "passwd", "makassar", "--config", self.env.config],
                           input="short\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("at least 10 characters", p.stderr)
        p = subprocess.run([BINARY, "user", "passwd", "makassar", "--config", self.env.config],
                           input="another-long-password\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.go("/_console/")
        self.assertTrue(self.driver.current_url.endswith("/_console/sign-in"))
        self.sign_in("makassar", "another-long-password")
        self.assertIn("Signed in as makassar", self.text())
        session = f"stockwatch_session={self.driver.get_cookie('stockwatch_session')['value']}"

        # Signed out, the session is gone.
        self.sign_out()
        status, _ = self.curl("-H", f"Cookie: {session}", f"{self.base}/api/inventory")
        self.assertEqual(status, 401)
        self.go("/_console/reports")
        self.assertTrue(self.driver.current_url.endswith("/_console/sign-in"))

    def test_drag_and_drop_progress_alerts_raised_and_a_sent_message(self):
        for name, role, stores, password in (("owner", "owner", [], OWNER_PASSWORD),
                                              ("makassar", "manager", ["--stores", "Makassar"],
                                               MANAGER_PASSWORD)):
            p = subprocess.run([BINARY, "user", "add", name, "--role", role, *stores,
                                "--config", self.env.config],
                               input=password + "\n", capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.open_browser()
        self.sign_in("owner", OWNER_PASSWORD)
        harness.wait_for(lambda: "Signed in as owner" in self.text(), "the overview")

        # The script is served by the daemon under the page's strict policy.
        status, body = self.curl("-D", "-", f"{self.base}/_console/console.js")
        self.assertEqual(status, 200)
        self.assertIn("content-type: text/javascript", body.lower())
        status, body = self.curl("-D", "-", f"{self.base}/_console/sign-in")
        self.assertIn("script-src 'self'", body)
        self.assertNotIn("unsafe-inline", body)

        # Drop two files on the drop zone (the drop a person makes with the
        # mouse, dispatched with the files in its DataTransfer).
        self.go("/_console/upload")
        zone = self.driver.find_element(By.CSS_SELECTOR, ".drop")
        self.assertTrue(zone.is_displayed())
        with open(MEDAN, encoding="utf-8") as f:
            medan = f.read()
        hostile = ('store,item,count\nMedan,"<img src=x onerror=""document.title=\'pwned\'"">",0\n'
                   'Medan,"<script>document.title=\'pwned\'</script>",0\n')
        self.driver.execute_script("""
            const dt = new DataTransfer();
            dt.items.add(new File([arguments[0]], 'inventory-medan.csv', {type: 'text/csv'}));
            dt.items.add(new File([arguments[1]], 'medan <b>extra</b>.csv', {type: 'text/csv'}));
            const zone = document.querySelector('.drop');
            zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
            window.stockwatchSamePage = true;""", medan, hostile)
        chosen = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, ".drop .chosen li")]
        self.assertEqual(chosen, ["inventory-medan.csv", "medan <b>extra</b>.csv"])
        self.shot("upload-dropped")
        self.driver.find_element(
            By.CSS_SELECTOR, "form[action='/_console/upload'] button[type=submit]").click()
        outcomes = self.outcomes()
        # Sent by the script: the page itself stayed, its content was replaced.
        self.assertTrue(self.driver.execute_script("return window.stockwatchSamePage === true"))
        self.assertEqual(len(outcomes), 2, outcomes)
        self.assertRegex(outcomes[0], r"Loaded: 6 rows, 6 changed \(report \d+\)")
        self.assertIn("Alerts it raised:", outcomes[0])
        self.assertIn("Medan is out of stock of Robusta Dairi", outcomes[0])
        self.assertIn("medan <b>extra</b>.csv", outcomes[1])
        self.assertIn("Medan is out of stock of <script>document.title='pwned'</script>", outcomes[1])
        self.assertNotEqual(self.driver.title, "pwned")
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "main img, main script, main b"), [])
        self.shot("upload-alerts")

        # A large file through the file input: the progress bar moves while
        # it goes up (the browser's upload slowed to 2 MB/s to watch it).
        big = os.path.join(self.files, "medan-large.csv")
        with open(big, "w", encoding="utf-8") as f:
            f.write("store,item,count\n")
            f.write("".join(f"Medan,Kopi contoh {i:06d},{i % 50 + 1}\n" for i in range(200000)))
        self.go("/_console/upload")
        self.driver.set_network_conditions(offline=False, latency=5, download_throughput=50_000_000,
                                           upload_throughput=2_000_000)
        self.driver.find_element(By.ID, "files").send_keys(big)
        self.driver.find_element(
            By.CSS_SELECTOR, "form[action='/_console/upload'] button[type=submit]").click()
        harness.wait_for(lambda: int(self.driver.execute_script(
            "return document.documentElement.dataset.uploadSent || 0")) > 0, "the upload to start")
        bar = self.driver.find_element(By.CSS_SELECTOR, ".progress progress")
        self.assertTrue(bar.is_displayed())
        self.assertIn("Sending:", self.driver.find_element(By.ID, "progress-text").text)
        self.driver.save_screenshot(os.path.join(SCREENSHOTS, "upload-progress-desktop.png"))
        self.driver.set_window_size(390, 844)
        self.driver.save_screenshot(os.path.join(SCREENSHOTS, "upload-progress-phone.png"))
        self.driver.set_window_size(1280, 900)
        outcomes = self.outcomes()
        self.driver.delete_network_conditions()
        self.assertRegex(outcomes[0], r"Loaded: 200,000 rows")
        self.assertIn("It raised no alerts.", outcomes[0])
        self.assertGreater(os.path.getsize(big), 4_000_000)
        self.assertGreaterEqual(int(self.driver.execute_script(
            "return document.documentElement.dataset.uploadSent")), os.path.getsize(big))

        # The plain form still works on its own: sent as a browser without
        # script sends it (form.submit() skips the script), a new page answers.
        self.go("/_console/upload")
        self.driver.find_element(By.ID, "files").send_keys(MAKASSAR)
        self.driver.execute_script("window.stockwatchOldPage = true; "
                                   "document.querySelector('form[data-upload]').submit()")
        harness.wait_for(
            lambda: self.driver.execute_script("return window.stockwatchOldPage !== true"),
            "the outcome page", timeout=60)
        outcomes = self.outcomes()
        self.assertRegex(outcomes[0], r"Loaded: \d+ rows")

        # The owner reads an alert as it was sent: subject, recipient, text.
        self.go("/_console/alerts")
        harness.wait_for(lambda: self.driver.find_elements(By.CSS_SELECTOR, "tbody tr a")
                         or self.driver.refresh(), "an alert message", timeout=60)
        links = self.driver.find_elements(By.CSS_SELECTOR, "tbody td:first-child a")
        hrefs = [a.get_attribute("href") for a in links]
        self.shot("alerts")
        found = None
        for href in hrefs:
            self.driver.get(href)
            if "Robusta Dairi" in self.text():
                found = href
                break
        self.assertIsNotNone(found, hrefs)
        page = self.text()
        self.assertRegex(page, r"Message \d+")
        self.assertIn("Subject", page)
        self.assertIn(harness.RECIPIENT, page)
        sent = self.driver.find_element(By.CSS_SELECTOR, "pre.sent").text
        self.assertIn("Robusta Dairi", sent)
        self.assertNotIn("=\n", sent)         # quoted-printable decoded
        self.assertNotEqual(self.driver.title, "pwned")
        self.shot("message")
        status, _ = self.curl(f"{self.base}/_console/alerts/999999")
        self.assertEqual(status, 303)       # not signed in: to the sign-in page
        self.go("/_console/alerts/999999")
        self.assertIn("There is nothing here", self.text())

        # A manager never reads the owner's messages: 404, as for any page
        # that is not theirs.
        self.sign_out()
        self.sign_in("makassar", MANAGER_PASSWORD)
        harness.wait_for(lambda: "Signed in as makassar" in self.text(), "the manager's overview")
        self.driver.get(found)
        self.assertIn("There is nothing here", self.text())
        self.assertNotIn("Robusta Dairi", self.text())
        session = f"stockwatch_session={self.driver.get_cookie('stockwatch_session')['value']}"
        status, _ = self.curl("-H", f"Cookie: {session}", found)
        self.assertEqual(status, 404)

    def test_user_commands_refuse_what_they_cannot_do(self):
        def user(*args, password=None):
            return subprocess.run([BINARY, "user", *args, "--config", self.env.config],
                                  input=password, capture_output=True, text=True, timeout=60)

        p = user("list")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("no accounts", p.stdout)
        p = user("add", "budi", "--role", "manager", password=MANAGER_PASSWORD + "\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("needs --stores", p.stderr)
        p = user("add", "bad name", "--role", "owner", password=OWNER_PASSWORD + "\n")
        self.assertEqual(p.returncode, 1)
        p = user("add", "ayu", "--role", "owner", password=OWNER_PASSWORD + "\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(OWNER_PASSWORD, self.env.daemon.log())
        p = user("add", "ayu", "--role", "owner", password=OWNER_PASSWORD + "\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("exists already", p.stderr)
        p = user("remove", "nobody")
        self.assertEqual(p.returncode, 1)
        p = user("remove", "ayu")
        self.assertEqual(p.returncode, 0, p.stderr)
        status, body = self.curl("--data", f"name=ayu&password={OWNER_PASSWORD}",
                                 f"{self.base}/_console/sign-in")
        self.assertEqual(status, 401)

        # With PostgreSQL the accounts are in that database: a server that
        # cannot be reached is a clear error, and no SQLite file is made at
        # storage.database.
        pg_config = os.path.join(self.env.root, "pg.toml")
        with open(self.env.config, encoding="utf-8") as f:
            text = f.read()
        pg_db = os.path.join(self.env.root, "never.db")
        text = re.sub(r"(?m)^database = .*$",
                      f'backend = "postgresql"\nurl = "postgresql://nobody@127.0.0.1:1/none"\n'
                      f'database = "{pg_db}"', text, count=1)
        with open(pg_config, "w", encoding="utf-8") as f:
            f.write(text)
        p = subprocess.run([BINARY, "user", "list", "--config", pg_config],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("cannot connect to PostgreSQL at postgresql://nobody@127.0.0.1:1/none",
                      p.stderr)
        self.assertFalse(os.path.exists(pg_db))

    def test_an_original_is_never_read_through_an_archive_folder_swapped_for_a_link(self):
        p = subprocess.run([BINARY, "user", "add", "owner", "--role", "owner",
                            "--config", self.env.config],
                           input=OWNER_PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        status, head = self.curl("-D", "-", "--data", f"name=owner&password={OWNER_PASSWORD}",
                                 f"{self.base}/_console/sign-in")
        m = re.search(r"(?im)^set-cookie: (stockwatch_session=[^;\r\n]+)", head)
        self.assertIsNotNone(m, head)
        session = m.group(1)
        os.makedirs(os.path.join(self.env.inbox, "medan"))
        self.env.drop(MEDAN, os.path.join("medan", "nov.csv"))
        harness.wait_for(lambda: [r for r in self.env.reports() if r[3]], "the report archived")
        (_, _, _, archived), = self.env.reports()
        self.assertTrue(archived.startswith(self.env.processed + os.sep), archived)
        status, _, path = self.download(session, "/_console/reports/1/original", "nov.csv")
        self.assertEqual(status, 200)
        with open(MEDAN, "rb") as a, open(path, "rb") as b:
            self.assertEqual(a.read(), b.read())

        # The archive's folder swapped for a link to a folder outside it,
        # holding a file of the same name: the console offers nothing.
        folder = os.path.dirname(archived)
        elsewhere = os.path.join(self.env.root, "elsewhere")
        os.makedirs(elsewhere)
        with open(os.path.join(elsewhere, os.path.basename(archived)), "w") as f:
            f.write("store,item,count\nSecret,not for the console,1\n")
        os.rename(folder, folder + ".moved")
        os.symlink(elsewhere, folder)
        status, _, path = self.download(session, "/_console/reports/1/original", "swapped.csv")
        self.assertEqual(status, 404)
        with open(path, "rb") as f:
            self.assertNotIn(b"Secret", f.read())
        self.assertIn("the original of report 1 is not offered", self.env.daemon.log())

    def test_failed_sign_ins_slow_down_without_locking_the_owner_out(self):
        p = subprocess.run([BINARY, "user", "add", "owner", "--role", "owner",
                            "--config", self.env.config],
                           input=OWNER_PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

        def attempt(password):
            return self.curl("--data", f"name=owner&password={password}",
                             f"{self.base}/_console/sign-in")

        # Guess until the console asks for a wait of several seconds: each
        # wrong guess doubles it (one refused while waiting counts nothing).
        first, _ = attempt("wrong-guess-123")
        self.assertEqual(first, 401)
        waits = []

        def long_wait():
            status, body = attempt("wrong-guess-123")
            if status == 429:
                waits.append(int(re.search(r"Wait (\d+) seconds", body).group(1)))
            return waits and waits[-1] >= 3

        harness.wait_for(long_wait, "a wait of 3 seconds or more", timeout=60)
        # Even the right password waits its turn...
        status, body = attempt(OWNER_PASSWORD)
        self.assertEqual(status, 429)
        self.assertIn("Too many failed sign-ins", body)
        self.assertIn("failed sign-in as 'owner'", self.env.daemon.log())
        # Once the wait is over, the right password works again.
        harness.wait_for(lambda: attempt(OWNER_PASSWORD)[0] == 303, "a sign-in after the wait",
                         timeout=30)

    def test_each_report_says_how_it_arrived(self):
        # An S3 credential: the daemon again with it.
        self.env.stop_daemon()
        with open(self.env.config, "a", encoding="utf-8") as f:
            f.write('\n[[http.credential]]\naccess_key = "AKIDARRIVALS"\n'
                    'secret_key = "arrivals-secret-key"\n')
        self.env.start_daemon()
        ports = re.findall(r"http: listening on \S+ \(port (\d+)\)", self.env.daemon.log())
        self.base = f"http://127.0.0.1:{ports[-1]}"
        p = subprocess.run([BINARY, "user", "add", "owner", "--role", "owner",
                            "--config", self.env.config],
                           input=OWNER_PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

        # One report by each way in: the folder, an S3 upload, the browser.
        self.env.drop(MAKASSAR)
        harness.wait_for(lambda: len(self.env.reports()) == 1, "the folder's report")
        bali = self.write("bali.csv", "store,item,count\nBali,Kintamani,0\n")
        status, body = self.curl("--aws-sigv4", "aws:amz:us-east-1:s3",
                                 "--user", "AKIDARRIVALS:arrivals-secret-key",
                                 "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                                 "-T", bali, f"{self.base}/inventory/bali/2026-12.csv")
        self.assertEqual(status, 200, body)
        harness.wait_for(lambda: len(self.env.reports()) == 2, "the S3 upload's report")
        self.open_browser()
        self.sign_in("owner", OWNER_PASSWORD)
        outcomes = self.upload(MEDAN)
        self.assertRegex(outcomes[0], r"Loaded: 6 rows")
        # The same file again through the browser: a duplicate, and it says so too.
        outcomes = self.upload(MEDAN)
        self.assertRegex(outcomes[0], r"duplicate of report \d+")
        ledger = self.env.query("SELECT path, arrived_by FROM reports ORDER BY id")
        self.assertEqual([by for _, by in ledger], ["folder", "s3", "browser", "browser"], ledger)
        self.assertEqual(ledger[1][0], "bali/2026-12.csv")

        # The Reports page says how each arrived, newest first.
        self.go("/_console/reports")
        self.assertIn("Arrived by", self.text())
        arrived = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, "td.arrived")]
        self.assertEqual(arrived, ["browser upload", "browser upload", "S3 upload", "inbox folder"])
        self.shot("reports-arrived")
        # And a report's own page.
        self.go("/_console/reports/2")
        self.assertEqual(self.driver.find_element(By.CSS_SELECTOR, "td.arrived").text, "S3 upload")

        # The overview: when each store's last report came, and how.
        self.go("/_console/")
        rows = {r.find_element(By.CSS_SELECTOR, "td.name").text: r.text
                for r in self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
                if r.find_elements(By.CSS_SELECTOR, "span.arrived")}
        self.assertIn("by S3 upload", rows["Bali"])
        self.assertIn("by inbox folder", rows["Makassar"])
        self.assertIn("by browser upload", rows["Medan"])
        self.shot("overview-arrived")

        # In Bahasa Indonesia.
        self.submit("/_console/language")
        self.assertIn("lewat unggahan S3", self.text())
        self.assertIn("lewat folder kotak masuk", self.text())
        self.go("/_console/reports")
        self.assertIn("Masuk lewat", self.text())
        self.assertIn("unggahan peramban", self.text())
        self.shot("reports-arrived-id")


if __name__ == "__main__":
    unittest.main()
