"""End to end: forecasts in the web console and the API, in a real browser.

Four monthly reports, named by their month (`medan/2026-01.csv` ...), go
into the inbox of the real daemon one after the other. Headless chromium
(test_console.py's set-up) then reads the overview's "Running out soon" and
"Suggested transfers", the inventory sorted by days of cover, and an item's
page with its server-drawn history chart, whose points link to their
reports; /api/inventory carries daily_use, days_of_cover and runs_out_on.
Screenshots go to console-screenshots/ in the build folder (forecast-*)."""

import json
import os
import re
import unittest

import harness
import test_console as tc

try:
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - reported as a skip below
    By = None

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]
ARABIKA = [1000, 800, 600, 150]
ROBUSTA_MEDAN = [2000, 1950, 1900, 1850]
ROBUSTA_SURABAYA = [100, 80, 60, 0]


@unittest.skipIf(tc.webdriver is None or not os.path.exists(tc.CHROMEDRIVER),
                 "needs chromium, chromium-driver and python3-selenium "
                 "(scripts/install-deps.sh test)")
class ConsoleForecastTest(harness.PipelineTestCase):

    def setUp(self):
        self.env = self.make_env()
        self.env.write_config()
        with open(self.env.config, "a", encoding="utf-8") as f:
            f.write('\n[http]\nlisten = "127.0.0.1:0"\ntoken = "api-token"\n')
        self.env.start_daemon()
        m = re.search(r"http: listening on \S+ \(port (\d+)\)", self.env.daemon.log())
        self.assertIsNotNone(m, self.env.daemon.log())
        self.base = f"http://127.0.0.1:{m.group(1)}"
        self.driver = None

    def tearDown(self):
        if self.driver is not None:
            self.driver.quit()

    def shot(self, name):
        d = self.driver
        os.makedirs(tc.SCREENSHOTS, exist_ok=True)
        d.set_window_size(1280, 1000)
        d.save_screenshot(os.path.join(tc.SCREENSHOTS, f"{name}-desktop.png"))
        d.set_window_size(390, 844)
        d.save_screenshot(os.path.join(tc.SCREENSHOTS, f"{name}-phone.png"))
        width = d.execute_script("return document.documentElement.scrollWidth")
        inner = d.execute_script("return window.innerWidth")
        self.assertLessEqual(width, inner, f"{name}: the page is wider than a phone")
        d.set_window_size(1280, 1000)

    def load_months(self):
        os.makedirs(os.path.join(self.env.inbox, "medan"), exist_ok=True)
        for k, month in enumerate(MONTHS):
            self.env.drop_text(
                os.path.join("medan", f"{month}.csv"),
                "store,item,count\n"
                f"Medan,Arabika,{ARABIKA[k]}\n"
                f"Medan,Robusta,{ROBUSTA_MEDAN[k]}\n"
                f"Surabaya,Robusta,{ROBUSTA_SURABAYA[k]}\n")
            # (the folder stays in the inbox; its report is archived)
            self.env.wait_for(lambda: len(self.env.reports()) == k + 1
                              and all(r[3] for r in self.env.reports()), f"report {month}")
        # The last report's checker run (and its forecasts) has finished
        # once its running_out message is queued.
        self.env.wait_for(lambda: any(m["event"] == "running_out" for m in self.env.outbox()),
                          "the running_out message")

    def test_overview_inventory_and_item_page_show_the_forecast(self):
        self.load_months()
        # The API: the forecast on each row, null when unknown.
        p = harness.subprocess.run(
            ["curl", "-sS", "-H", "Authorization: Bearer api-token",
             self.base + "/api/inventory?store=Medan"],
            capture_output=True, text=True, timeout=60)
        rows = {r["item"]: r for r in json.loads(p.stdout)["items"]}
        self.assertEqual(rows["Arabika"]["runs_out_on"], "2026-05-15")
        self.assertAlmostEqual(rows["Arabika"]["daily_use"], 9.55, places=2)
        self.assertAlmostEqual(rows["Arabika"]["days_of_cover"], 15.7, places=1)

        self.driver = tc.browser(self.env.root)
        self.driver.set_page_load_timeout(60)
        m = re.search(r"(http://\S+/_console/setup\?token=[0-9a-f]{64})", self.env.daemon.log())
        self.assertIsNotNone(m, self.env.daemon.log())
        self.driver.get(m.group(1))
        self.driver.find_element(By.ID, "name").send_keys("owner")
        self.driver.find_element(By.ID, "password").send_keys(tc.OWNER_PASSWORD)
        self.driver.find_element(By.ID, "password2").send_keys(tc.OWNER_PASSWORD)
        self.driver.find_element(By.CSS_SELECTOR,
                                 "form[action='/_console/setup'] button[type=submit]").click()
        harness.wait_for(lambda: self.driver.current_url.endswith("/_console/"), "the overview")

        body = self.driver.find_element(By.TAG_NAME, "body").text
        self.assertIn("Running out soon", body)
        self.assertIn("2026-05-15", body)
        self.assertIn("Suggested transfers", body)
        self.assertIn("Move 21 Robusta from Medan (has 1,850) to Surabaya", body)
        self.shot("forecast-overview")

        self.driver.get(self.base + "/_console/inventory?sort=cover")
        cells = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, "tbody tr td:nth-child(2)")]
        self.assertEqual(cells[0], "Arabika")   # fewest days of cover first
        self.shot("forecast-inventory")

        self.driver.get(self.base + "/_console/item?store=Medan&item=Arabika")
        body = self.driver.find_element(By.TAG_NAME, "body").text
        self.assertIn("Arabika in Medan", body)
        self.assertIn("2026-05-15", body)
        points = self.driver.find_elements(By.CSS_SELECTOR, "svg.chart a")
        self.assertEqual(len(points), 4)
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR, "svg.chart .predicted")), 1)
        self.shot("forecast-item")
        # Each point is a link to its report.
        href = points[0].get_dom_attribute("href")   # an SVG link: the attribute as written
        self.assertRegex(href, r"^/_console/reports/\d+$")
        self.driver.get(self.base + href)
        self.assertIn("medan/2026-01.csv", self.driver.find_element(By.TAG_NAME, "body").text)

        # In Bahasa Indonesia.
        self.driver.get(self.base + "/_console/item?store=Medan&item=Arabika")
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/_console/language'] button").click()
        harness.wait_for(lambda: "Keluar" in self.driver.find_element(By.TAG_NAME, "body").text
                         or "Indonesia" not in self.driver.find_element(By.TAG_NAME, "body").text,
                         "the switch to Bahasa Indonesia")
        self.driver.get(self.base + "/_console/item?store=Medan&item=Arabika")
        body = self.driver.find_element(By.TAG_NAME, "body").text
        self.assertIn("Pemakaian per hari", body)
        self.assertIn("Arabika di Medan", body)
        self.shot("forecast-item-id")


if __name__ == "__main__":
    unittest.main()
