// Package timeparse is the deterministic time-expression parser behind the
// task handler and the offline fallback (no LLM available). It finds the
// time expression in a message such as "remind me to call mom at 5pm",
// "tomorrow at 8 take vitamins", "every Monday at 7 gym" or "in 20 minutes
// check the oven", resolves it in the user's IANA zone relative to now, and
// returns what is left as the task title.
//
// # Why deterministic
//
// Turning "tomorrow at 8" into an instant needs no language understanding,
// only calendar rules, and those rules (DST, "has 7am already passed?") are
// exactly where models slip. Code is cheap, fast, testable and gives the
// same answer twice. What it cannot read it leaves alone: it never invents
// a time, so the orchestrator can ask the user instead (CLARIFY).
//
// # How it works
//
// The message is split into lower-cased words (commas and brackets separate
// words; "7:30am", "a.m", "2026-12-24", "9am-5pm" stay one word). A few
// rules are tried at each word, left to right; the first that matches
// consumes its words and fills its slot (recurrence, moment, day, time,
// part of day). Each slot is filled once: a second, conflicting expression
// is not consumed and stays in the title. The consumed words, wherever
// they are in the message, form Matched; the rest becomes Title after
// reminder boilerplate ("remind me to", "please", "can you", trailing
// punctuation) is removed.
//
// # Grammar (case-insensitive English)
//
//	time       [at|@|around|by|from] CLOCK [(to|until|-) CLOCK]
//	           CLOCK: 5pm, 5 pm, 7:30am, 7 a.m., 17:00, 5.30, noon, midday, midnight,
//	           five o'clock, 17h30, 20h, half past six, (a) quarter to|past 8, ten to
//	           five, 20 past 9, half 7 (7:30), six thirty; a bare hour ("8", "eight") only after
//	           at/@/around or in a "from" range ("by 5 people" is not a time); "5.30"
//	           and military "0930" only after a prefix
//	moment     in N minutes|hours, in an hour, in half an hour, in 1 hour and 30 minutes,
//	           in an hour and a half, in 20min, in 2h
//	day        today, tonight, tomorrow, the day after tomorrow, this morning|afternoon|evening,
//	           [on|next|this] Friday (abbreviations only after on/next/this),
//	           [on] 3 March [2027], 3rd of March, March 3rd, 2026-12-24, on the 5th,
//	           3/12, 3/12/2027 (Options.MonthFirst), on 24.12., in N days|weeks,
//	           yesterday, last Friday (in the past: the caller corrects), an
//	           abbreviated weekday before a time ("sat 10am"); any of these may start
//	           with "starting"/"from"
//	vague      later, soon, sometime, next week: Vague (NextWeek), no time
//	part       tomorrow|Friday|today morning|afternoon|evening|night, in the morning, at night
//	recurrence every day, everyday, daily, nightly, every morning|evening|night,
//	           every Monday [and Thursday], every Monday, Wednesday and Friday,
//	           every Mon-Fri, every Monday to Friday, on Mondays, Mondays and Thursdays,
//	           every weekday, on weekdays, every weekend, on weekends,
//	           every week [on Friday], weekly, every 2 weeks, every other week|Monday,
//	           every 2 days, every month, monthly, every year, yearly, annually,
//	           the 3rd of every|each month, every 1st of the month
//	invalid    25:99, 13pm, at 24:30, 30 February, 2026-13-01, 32/12, every 0 days,
//	           every 2 hours: consumed, with Invalid saying why (At stays zero)
//
// # Resolution rules
//
//   - Local to UTC: dates are computed on the local calendar and turned into
//     instants with time.Date(..., loc), never by adding 24-hour durations,
//     so "tomorrow at 8" is 08:00 local even across a DST change. A time in
//     a spring-forward gap is whatever time.Date makes of it, which depends
//     on the zone: 02:30 on 29 March 2026 in Berlin becomes 03:30 CEST,
//     02:30 on 8 March 2026 in New York becomes 01:30 EST. If that instant
//     has already passed, the usual roll-over applies. A time that occurs
//     twice in autumn is one of the two, as time.Date documents. "in 20
//     minutes" and "in 2 hours" are elapsed time (now plus the duration).
//   - A time without a day is today, or tomorrow once it has passed ("at
//     7am" said at 09:00 is tomorrow 07:00). The current minute still
//     counts as not passed. HasDate stays false then: no day was named.
//   - A bare hour 1-11 (also "8:30") is ambiguous. A part of day settles it
//     ("at 8 in the evening", "tonight at 9" = 21:00). Otherwise, on a named
//     future day the earlier reading wins ("tomorrow at 8" = 08:00); with no
//     day or "today" it is the next of the two after now ("at 8" said at
//     10:00 is 20:00, said at 21:00 is tomorrow 08:00). A recurrence always
//     takes the earlier reading, so the series does not depend on when it
//     was typed. A bare 12 is noon; "08:00" is read as 24-hour.
//   - "midnight" is the end of the day ("tonight at midnight", "Friday at
//     midnight" = 00:00 the following day); "12am" is its start.
//   - A day named explicitly is kept even if that moment is over ("today at
//     7am" said at 09:00, "2025-01-01"): moving a day the user named would
//     be a guess, and the caller can see it is in the past.
//   - Weekdays: "Friday", "on Friday" and "next Friday" are the next Friday
//     after today; "this Friday" may be today. Dates without a year are the
//     next such date, today included.
//   - A day without a time gives At at 00:00 local of that day, with
//     HasTime false; "in N days" keeps the current clock time instead. A
//     part of day ("tomorrow morning") is a hint in Part, not a time.
//   - Recurrences: At is the first occurrence at or after now (00:00 of the
//     first matching day when no time is given). "every week", "monthly",
//     "yearly" without a day start today, or tomorrow once today's time has
//     passed, and "every week" takes BYDAY from that start. A named start
//     ("every day starting Monday", "every month on the 1st") anchors the
//     series.
//   - A range ("from 9am to 5pm", "9am-5pm") resolves to its start; the
//     end is dropped (Result has no duration). Two bare hours ("work 9 to
//     5") are not read as a time at all.
//
// # Options (ParseWith)
//
// Parse reads with no user conventions. ParseWith takes the user's: MonthFirst
// for numeric dates (a date valid in one order only is read in that order);
// Asleep, so an open hour avoids the reading in the user's sleep ("tomorrow
// at 5" is 17:00; "5am" stays 05:00); PartTimes, which gives a part of day
// named without a time its time (PartTime set); DaysKeepTime, which makes
// "in 2 days" a time (now's clock that day).
//
// # The words on their own
//
// The same lexicon reads single answers for the rest of Flux: WeekdayWord reads a weekday
// name, ReadClock a time of day as an answer to "what time?" (bare hours included),
// ParseClock one unmistakable time ("19:00", "7pm") and HHMM the stored "HH:MM".
//
// # Left out on purpose
//
// "next week"/"next month" as a day (next week is Vague: the caller asks),
// sub-daily recurrence ("every 2 hours" is Invalid), BYSETPOS ("the last
// Friday of the month"), recurrence end dates ("until June"), holidays and
// personal dates ("my birthday"), and languages other than English.
package timeparse
