// Package observe is the deterministic part of the Pattern Observer of the
// product specification: it turns a user's settled tasks and stored
// patterns into the report the goal planner consults (best times, avoid
// slots, category performance, short notes), and converts that report into
// the slot finder's ranking hints. Counting misses needs no language
// understanding, so this is plain code: no database, no model, no clock;
// the caller passes Now, and the same input always gives the same report.
//
// # Evidence
//
// Outcomes are grouped by local weekday and local hour in the user's zone
// (t.In(loc), so a 07:00 task stays in the 07:00 slot across clock
// changes). Nothing is claimed from fewer than MinDataPoints outcomes: a
// best time, an avoid slot and a category each need three behind them, and
// with fewer than three outcomes in total only the cold-start rules apply.
//
//   - Best times: (weekday, hour) slots with completion ≥ 0.75, best rate
//     first, then most outcomes, at most MaxBestTimes. The time reported is
//     the most common local start among the slot's done tasks (earliest on a
//     tie), so a habit at 07:30 is reported as 07:30, not 07:00.
//   - Avoid slots: the two-hour window from an hour before to an hour after
//     h:00 on a weekday, for every hour h a task started in, with completion
//     ≤ 0.34. Overlapping windows on a day are not both kept: the lowest
//     rate (then most outcomes, then earliest) wins, so the slot finder never
//     counts the same misses twice. A window that would cover a best-time
//     hour shrinks to the hour h alone, so the report never says both
//     "prefer" and "avoid" for the same hour.
//   - Stored time_avoidance patterns are passed through as avoid slots with
//     their own confidence and description. The day is read from data.day
//     (Mon, Monday, MO, 0–7, or all/any for every day) and the range from
//     data.from and data.to or data.time_range ("06:00-09:00"). A pattern the
//     user overrode (data.user_overridden) is used exactly as the user left
//     it; overridden to confidence 0 it means "this time is fine" and is
//     left out. Either way a stored pattern is the authority for its time:
//     history and cold-start avoid slots that overlap it are dropped, so an
//     old run of misses cannot undo the user's decision. Patterns whose data
//     cannot be read are skipped.
//   - Category performance: per goal tag with three or more outcomes, the
//     completion rate rounded to two decimals, weakest first.
//
// # Cold start and confidence
//
// The report is in cold start (Report.ColdStart) while the span from the
// earliest outcome to Now is under 14 days, or there are fewer than three
// outcomes. Then the chronotype gives a default best time on any day
// (morning 07:00, evening 19:00, neutral none) with confidence 0.3. The
// Monday-morning rule (avoid Mon 06:00–10:00 for high-effort tasks,
// confidence 0.3) applies always, unless at least three Monday outcomes
// between 06:00 and 10:00 show completion ≥ 0.75.
//
// Confidence of anything derived from history, with k outcomes behind it
// (k ≥ 3), is
//
//	min(0.95, 0.50 + 0.05·(k−3))   after the first 14 days
//	min(0.45, 0.25 + 0.05·(k−3))   during cold start
//
// rounded to two decimals: it grows with evidence, never reaches certainty,
// and stays below 0.5 for the first 14 days as the specification asks.
// The rate only selects an item; it does not move its confidence.
//
// # Output
//
// Every list is sorted on all its fields, so neither input order nor map
// iteration shows in the report; lists are empty, never nil, so the JSON
// carries [] rather than null. GeneralNotes are at most four short English
// sentences built from counts, days, times and taxonomy tags, never from
// names or task titles.
package observe
