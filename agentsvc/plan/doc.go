// Package plan is the Goal Planner's contract: the typed plan the planner model
// answers with (docs/product.md, "The agents"), its validation, its materialization into
// concrete task occurrences, and deterministic template plans for when no model
// is available.
//
// # Contract
//
// Plan mirrors the planner's JSON output field for field. Schema returns the
// matching JSON Schema in the subset OpenAI strict mode accepts (every property
// required, additionalProperties false) and that Anthropic-backed routes also
// accept: only type, properties, required, additionalProperties, items, enum
// and description. Bounds (lengths, ranges, counts) are stated in descriptions
// and enforced by Validate, because not every provider on the route enforces
// them.
//
// Validate checks what a model can get wrong and reports every problem at once
// as FieldErrors joined with errors.Join; each names the JSON field and quotes
// the offending value, so the error can be sent back verbatim as a correction
// prompt (llm.Call with (*Plan).Validate as its validate func).
//
// # Time
//
// A plan is a 6-week sprint. Week n is the 7 local days starting
// start+7(n-1) days. Times of day are the user's local wall clock
// (suggested_time, "HH:MM"); Materialize turns them into UTC instants with the
// user's IANA location, so a weekly 07:00 stays 07:00 local on both sides of a
// DST change while its UTC time moves by an hour.
//
// Wall times that a DST change makes ambiguous or nonexistent follow RFC 5545
// §3.3.5, not time.Date (whose choice differs between zones east and west of
// UTC): a repeated time (fall back) is the first of the two instants, and a
// skipped time (spring forward) is read with the offset before the gap, which
// moves it forward by the gap, e.g. 02:30 on 2026-03-29 in Europe/Berlin is
// 03:30 CEST and 02:30 on 2026-03-08 in America/New_York is 03:30 EDT. Only
// that day's occurrence moves; the others stay at 02:30.
//
// # Recurrence rules
//
// recurrence_rule is an RRULE body (RFC 5545) without DTSTART, expanded with
// github.com/teambition/rrule-go. The planner may use FREQ DAILY, WEEKLY or
// MONTHLY with INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY, WKST and (monthly
// only) BYSETPOS. DTSTART is the first day of the task's week range at
// suggested_time, and the time of day always comes from suggested_time, so
// BYHOUR, BYMINUTE and BYSECOND are rejected, as are sub-daily frequencies (a
// plan that fires every hour is a model mistake, not a habit) and parts that
// make no sense inside six weeks (YEARLY, BYMONTH, BYYEARDAY, BYWEEKNO,
// BYEASTER). BYDAY, when present with scheduled_days, must name the same days.
//
// # Templates
//
// Template builds a ramped plan per taxonomy category without a model (week 1
// almost too easy, then longer sessions), and Categorize picks the category
// from free text by keywords. Both are deterministic, for the offline path
// (llm.ErrUnavailable) and for tests.
package plan
