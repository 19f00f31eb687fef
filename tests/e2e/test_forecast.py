"""End to end: predicted stock-outs and transfer suggestions by email.

The real binary loads four monthly reports named by their date
(`stok-2026-01-31.csv` ...) with `stockwatch ingest`, and delivers through
tests/support/smtp_server.py: the falling counts raise one running_out
message that names the predicted date and the use rate, a store at 0 gets
a transfer suggestion from the store that holds plenty, and the ledger
records each report's date and where it came from.
"""

import os
import unittest

import harness
from harness import parse_message

MONTHS = ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
# Arabika in Medan: 850 used over 89 days, 150 left on 2026-04-30: it lasts
# 150 / (850 / 89) = 15.7 days, so it runs out on 2026-05-15. The report
# before (600 left, 6.8 a day, 88 days) is far from running out.
ARABIKA = [1000, 800, 600, 150]
# Robusta: Medan holds plenty (1.7 a day); Surabaya reaches 0 in April.
ROBUSTA_MEDAN = [2000, 1950, 1900, 1850]
ROBUSTA_SURABAYA = [100, 80, 60, 0]


class ForecastTest(harness.PipelineTestCase):
    def setUp(self):
        self.env = self.make_env()
        self.env.start_smtp()
        self.env.write_config()

    def reports(self):
        paths = []
        for k, day in enumerate(MONTHS):
            path = os.path.join(self.env.root, f"stok-{day}.csv")
            with open(path, "w", encoding="utf-8") as f:
                f.write("store,item,count\n")
                f.write(f"Medan,Arabika,{ARABIKA[k]}\n")
                f.write(f"Medan,Robusta,{ROBUSTA_MEDAN[k]}\n")
                f.write(f"Surabaya,Robusta,{ROBUSTA_SURABAYA[k]}\n")
            paths.append(path)
        return paths

    def test_falling_counts_raise_one_running_out_message_and_a_transfer(self):
        # One report a month, each checked before the next arrives.
        for path in self.reports():
            r = self.env.run_cli("ingest", "--config", self.env.config, path)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        days = self.env.query("SELECT report_day, date_source FROM reports ORDER BY id")
        self.assertEqual([d[1] for d in days], ["name"] * 4)
        # 2026-01-31 is day 20484 since 1970-01-01.
        self.assertEqual(days[0][0], 20484)

        messages = [parse_message(eml) for eml, _ in self.env.smtp.messages()]
        subjects = [m["Subject"] for m in messages]
        running = [m for m in messages if "running out soon" in m["Subject"]]
        self.assertEqual(len(running), 1, subjects)
        body = running[0].get_content()
        self.assertIn("Medan will run out of Arabika around 2026-05-15", body)
        self.assertIn("150 left, using about 9.6 a day", body)

        out = [m for m in messages if "out of stock" in m["Subject"]]
        self.assertEqual(len(out), 1, subjects)
        body = out[0].get_content()
        self.assertIn("Surabaya is out of stock of Robusta", body)
        self.assertIn("Suggestion: move", body)
        self.assertIn("Robusta from Medan (it has 1,850) to Surabaya", body)

        # The API-facing figures are in the database: history and use.
        points = self.env.query(
            "SELECT day, count FROM usage_points WHERE store = 'Medan' AND item = 'Arabika' "
            "ORDER BY day")
        self.assertEqual([p[1] for p in points], ARABIKA)

    def test_the_running_out_alert_keeps_its_date_as_data(self):
        # The outbox keeps event data; the text is rendered when it is sent.
        # Loaded at once: the history still comes in the reports' order.
        r = self.env.run_cli("ingest", "--config", self.env.config, *self.reports())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rows = self.env.query("SELECT payload FROM outbox WHERE event = 'running_out'")
        self.assertEqual(len(rows), 1)
        self.assertIn('"runs_out_on":"2026-05-15"', rows[0][0])


if __name__ == "__main__":
    unittest.main()
