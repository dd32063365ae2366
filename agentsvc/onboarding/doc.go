// Package onboarding is the onboarding agent of docs/product.md
// as a deterministic step machine: it asks, in that order, for the
// name, wake time, bed time, work hours, chronotype, timezone confirmation,
// home/work location labels, regular commitments, phone number, WhatsApp
// consent and a first goal or task, and builds users.profile from the
// answers. Reading "9-5 Mon-Fri" or "gym Mondays at 18:00" needs rules, not
// a language model, so onboarding works with no API key, costs nothing and
// gives the same result for the same answers.
//
// # A turn
//
// Next takes the State saved after the previous turn (JSON in the
// conversation's agent state) and the user's message, and returns the new
// State and the reply. The first turn (Started false) greets and asks the
// name. Each later answer is parsed for the current step: if it is usable it
// is stored and the next question asked; if not, the step stays and the
// reply says why and gives one concrete example. A declined phone number
// skips the WhatsApp question. The answer to the last question becomes
// Output.Handoff for the normal chat graph ("later" hands off nothing), and
// Done carries the confirmed Timezone. The caller then sets onboarded,
// users.timezone, users.profile and the unverified phone, and seeds the
// commitments as tasks with Profile.CommitmentStarts. The WhatsApp answer is
// part of the profile (whatsapp_consent), so it is written with it; the
// database turns a yes into the opt-in once the number is verified. A Done state answers
// every further turn with Done and nothing else, so a retried turn cannot
// hand the first request off twice.
//
// Profile satisfies flux.profile_ok after every turn, not only at the end:
// the wake time waits in State.Wake until the bed time completes the sleep
// window, and the confirmed zone waits in State.Timezone.
//
// # Reading answers
//
//   - Times: "7", "7am", "6:30", "06:30", "half past six", "quarter to
//     seven", "noon", "11 at night". A bare hour is morning for the wake
//     time; for the bed time 7..11 is evening, 12 midnight and 1..6 after
//     midnight. timeparse reads them, as it reads every time and day word in
//     Flux: ReadClock an answer's words (bare hours included, which a
//     sentence needs "at" for), then Parse the rest of its grammar.
//   - Work hours: two times and optional days in any order ("9-5",
//     "weekdays 8:30 to 16:30", "9am-6pm Mon-Fri"); days default to Mon-Fri.
//     An open end takes the first reading after the start ("9-5" is
//     09:00-17:00); an open start is morning for 6..12 and afternoon for 1..5
//     unless an exact end says otherwise. The end must be after the start on
//     the same day, so overnight shifts are refused for now.
//   - Timezone: any IANA name in the answer that time.LoadLocation knows
//     wins ("no, Europe/Berlin", case fixed: "europe/berlin"); otherwise a
//     yes (package yesno) confirms the client's zone.
//   - Commitments: items split on ";" and line breaks, and on ",", "and",
//     "&" when the next piece is not a continuation of the same item
//     ("Monday and Wednesday at 18:00"). Each is read by timeparse after
//     "for 90 minutes" is cut off; a bare weekday is made recurring ("gym
//     Monday at 7" means every Monday). The time is taken from a parse in UTC,
//     so no DST change can shift it. An item needs a time and days, and only
//     weekly or daily rules fit the profile; an item with a second time left
//     over is refused rather than half saved.
//   - Phone: + (or 00) and 8..15 digits after removing spaces, dashes, dots
//     and brackets. It is stored unverified; the reply only says the app's
//     phone verification will send a code (the OTP flow comes later). Replies
//     never show more than the last two digits.
//
// Answers are cleaned before they are stored: control characters become
// spaces, and names and labels are limited to 100 characters, so the
// profile stays far below flux.profile_ok's 16 KB.
package onboarding
