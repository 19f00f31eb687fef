// Backtest of the use-rate forecast (src/pipeline/usage.hpp) on a generated
// history with known use rates: 10 stores x 1,000 items, a report at the end
// of each of 12 months, daily use drawn around each item's true rate
// (noise), deliveries at random, and miscounts.
//
// For each monthly report after the first, every item in stock gets the
// forecast the daemon would make from the reports so far (the same
// observe() / forecast() code) and is compared with the day its stock
// really runs out if nothing more is delivered: the median absolute error in
// days. Every real stock-out (the day the simulated stock reaches 0) counts
// as warned a week ahead when a report at least 7 days before it, after
// the delivery before it, raised running_out (warn_days_ahead 14 plus the
// wait for the next report).
//
// Usage: forecast_backtest [seed] [noise]   (noise: daily use's relative
// spread, default 0.3). Prints one table (Markdown).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <vector>

#include "pipeline/usage.hpp"

using namespace stockwatch;

namespace {

constexpr int kStores = 10;
constexpr int kItems = 1000;
constexpr int kMonths = 12;
constexpr int kWarnDays = 14;
constexpr int kWarnedAhead = 7;

struct Sim {
  std::vector<std::int64_t> stock;      // per day, after the day's use
  std::vector<char> delivered;          // a delivery arrived that day
};

}  // namespace

int main(int argc, char** argv) {
  const unsigned seed = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 19u;
  const double noise = argc > 2 ? std::atof(argv[2]) : 0.3;
  std::mt19937_64 rng(seed);
  const std::int64_t start = day_from_civil(2026, 1, 1);
  std::vector<std::int64_t> report_days;  // month ends
  for (int m = 1; m <= kMonths; ++m) {
    report_days.push_back(day_from_civil(2026, static_cast<unsigned>(m),
                                         last_day_of_month(2026, static_cast<unsigned>(m))));
  }
  const std::int64_t end = report_days.back() + 120;  // room to see run-outs after the last
  const int days = static_cast<int>(end - start + 1);

  std::lognormal_distribution<double> rate_dist(std::log(8.0), 1.0);
  std::normal_distribution<double> unit(0.0, 1.0);
  std::uniform_real_distribution<double> u01(0.0, 1.0);

  std::vector<double> errors, errors_60;
  std::int64_t stockouts = 0, warned = 0, forecasts = 0, no_forecast = 0, raised_total = 0;

  for (int s = 0; s < kStores; ++s) {
    for (int it = 0; it < kItems; ++it) {
      const double rate = std::max(0.2, rate_dist(rng));
      // Simulate each day's use, with deliveries: an order arrives a few
      // days after the stock falls below 10-40 days of use, sometimes too late.
      Sim sim;
      sim.stock.resize(static_cast<std::size_t>(days));
      sim.delivered.assign(static_cast<std::size_t>(days), 0);
      double stock = rate * (30 + 60 * u01(rng));
      const double reorder_days = 10 + 30 * u01(rng);
      int order_due = -1;
      for (int d = 0; d < days; ++d) {
        if (d == order_due) {
          stock += rate * (40 + 50 * u01(rng));
          sim.delivered[static_cast<std::size_t>(d)] = 1;
          order_due = -1;
        }
        const double use = std::max(0.0, rate * (1.0 + noise * unit(rng)));
        stock = std::max(0.0, stock - use);
        sim.stock[static_cast<std::size_t>(d)] = static_cast<std::int64_t>(std::floor(stock));
        if (order_due < 0 && stock < rate * reorder_days) {
          order_due = d + 5 + static_cast<int>(40 * u01(rng));  // lead time 5-45 days
        }
      }
      const auto stock_on = [&](std::int64_t day) { return sim.stock[static_cast<std::size_t>(day - start)]; };

      // The reports, as the daemon takes them in; miscounts of up to 2%.
      std::optional<UsageFigures> f;
      std::vector<std::pair<std::int64_t, bool>> alerts;  // report day, raised running_out
      std::optional<std::int64_t> prev_day;
      for (const std::int64_t day : report_days) {
        std::int64_t count = stock_on(day);
        if (count > 0) {
          count = std::max<std::int64_t>(
              0, static_cast<std::int64_t>(std::llround(count * (1.0 + 0.02 * unit(rng)))));
        }
        if (!f || f->last_count != count) f = observe(f, day, count);
        const std::optional<std::int64_t> gap =
            prev_day ? std::optional<std::int64_t>(day - *prev_day) : std::nullopt;
        prev_day = day;
        const Forecast fc = forecast(*f, count, day);
        const bool raised =
            count > 0 && runs_out_within(fc, day, warn_horizon_days(kWarnDays, gap));
        alerts.emplace_back(day, raised);
        raised_total += raised ? 1 : 0;
        if (count <= 0) continue;
        // The real run-out day without another delivery.
        double left = static_cast<double>(stock_on(day));
        std::int64_t real = day;
        std::mt19937_64 fwd(seed ^ static_cast<unsigned>(s * 7919 + it * 104729 + day));
        while (left > 0 && real < day + 3650) {
          ++real;
          left -= std::max(0.0, rate * (1.0 + noise * unit(fwd)));
        }
        if (!fc.runs_out_on) {
          ++no_forecast;
          continue;
        }
        ++forecasts;
        const double err = std::fabs(static_cast<double>(*fc.runs_out_on - real));
        errors.push_back(err);
        if (real - day <= 60) errors_60.push_back(err);
      }

      // Real stock-outs after the second report (the first with a use rate).
      std::int64_t last_delivery = start;
      for (std::int64_t day = start + 1; day <= report_days.back() + 30; ++day) {
        if (sim.delivered[static_cast<std::size_t>(day - start)]) last_delivery = day;
        if (!(stock_on(day) == 0 && stock_on(day - 1) > 0)) continue;
        if (day < report_days[1] + kWarnedAhead) continue;
        ++stockouts;
        const bool ok = std::any_of(alerts.begin(), alerts.end(), [&](const auto& a) {
          return a.second && a.first <= day - kWarnedAhead && a.first >= last_delivery;
        });
        if (ok) ++warned;
      }
    }
  }
  const auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  std::printf("| measure | value |\n|---|---|\n");
  std::printf("| stores x items x monthly reports | %d x %d x %d |\n", kStores, kItems, kMonths);
  std::printf("| daily use noise (relative spread) | %.2f |\n", noise);
  std::printf("| forecasts made (item in stock, enough history) | %lld |\n",
              static_cast<long long>(forecasts));
  std::printf("| items in stock without a forecast | %lld |\n", static_cast<long long>(no_forecast));
  std::printf("| median absolute error of runs_out_on, all forecasts | %.1f days |\n",
              median(errors));
  std::printf("| median absolute error, run-outs within 60 days | %.1f days (%zu forecasts) |\n",
              median(errors_60), errors_60.size());
  std::printf("| stock-outs after the second report | %lld |\n", static_cast<long long>(stockouts));
  std::printf("| warned at least %d days ahead | %lld (%.1f%%) |\n", kWarnedAhead,
              static_cast<long long>(warned),
              stockouts ? 100.0 * static_cast<double>(warned) / static_cast<double>(stockouts) : 0.0);
  std::printf("| running_out warnings raised (item and report) | %lld |\n",
              static_cast<long long>(raised_total));
  return 0;
}
