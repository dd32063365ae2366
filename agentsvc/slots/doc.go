// Package slots finds times for tasks and detects conflicts: the Scheduler
// of the product specification, written as deterministic code instead of an
// LLM agent. Slot finding needs no language understanding, and a model can
// double-book; this code cannot, and gives the same answer for the same
// calendar every time, in microseconds.
//
// A Calendar is a user's time: their IANA zone, a sleep window (a hard
// block, may cross midnight), work hours (a soft block on chosen weekdays),
// existing pending or rescheduled tasks (hard blocks, each widened by the
// 15-minute Buffer on both sides) and the Pattern Observer's hints.
//
//   - Place puts one recurring Request (the same local time on chosen
//     weekdays for weeks FirstWeek..LastWeek of the 6-week sprint) at one
//     local time. PlaceAll places a plan's requests in order, each
//     placement blocking the next, and stops at the first that does not
//     fit (ErrNoSlot).
//   - Conflicts lists the existing tasks proposed occurrences would meet.
//   - Next proposes a reschedule: the earliest free quarter hour after a
//     moment, the same day or within the horizon.
//   - FirstAvailableStart finds the earliest start date at which a whole
//     plan fits, so the planner can say honestly that slots are short and
//     propose a later start.
//
// Nothing here reads the clock or a database: callers pass the start, the
// tasks and the profile, so the same input always gives the same answer.
//
// # Time
//
// Times of day are local wall-clock times; every instant returned is UTC.
// Occurrences are built per local calendar date, never by adding 24 hours,
// so a 07:00 slot stays 07:00 local across clock changes. Go's time.Date
// leaves times that a clock change skips or repeats unspecified, so this
// package resolves them itself: a slot time that does not exist on one of
// its dates is not used; a window (sleep, work) covers every instant whose
// wall clock is inside it, a repeated hour included, so blocks are never
// narrower than the window as the user stated it.
//
// # Choosing a time
//
// Candidates are the 96 quarter hours of the day (Step), plus the preferred
// time if it is off the grid. A candidate is free when it exists on every
// date and, for every occurrence, [start, start+duration) meets no sleep
// and no task within the buffer. Of the free candidates, those that meet work hours in any
// occurrence are kept as a fallback, used only when no other candidate is
// free; the slot then says InWorkHours.
//
// The request's preferred time is taken whenever it is free. Otherwise
// Slot.Conflict says why (a skipped time, sleep, the clashing task and its
// time, or work hours) and the free candidates are ranked by a penalty,
// lowest first, in points where one point is a minute:
//
//   - preferred: 1 per minute from the preferred time (round the clock);
//   - chronotype: morning prefers starts 06:00–09:00, evening 18:00–21:00;
//     1 per minute outside the band, 0.5 when a preferred time is given, so
//     nearness to the preferred time outweighs it; neutral adds nothing;
//   - avoid slots: 240 × confidence × the share of occurrences that overlap
//     the slot, so a weak pattern on one weekday barely moves a daily task
//     and a confident one moves a weekly task well away;
//   - best times: a bonus of 120 × the share of occurrences on a matching
//     day, fading linearly to nothing an hour away from the best time.
//
// Ties go to the earliest time after waking (the end of the sleep window,
// or 07:00 without one), so without hints the day is filled from its start.
//
// # Representation
//
// Blocks are sorted, merged interval sets in Unix nanoseconds, built once
// per call over the dates searched; testing an occurrence is a binary
// search per set, and wall times on dates without a clock change are
// midnight plus the clock. Candidates are tested best-ranked first and the
// search stops at the first free one; a placement is merged into the sets
// in one pass. Five requests over six weeks with about three hundred
// tasks are placed in about a tenth of a millisecond (BenchmarkPlaceAll).
package slots
