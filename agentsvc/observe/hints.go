package observe

import (
	"math"
	"strings"

	"github.com/flux-companion/flux/agentsvc/slots"
)

// Hints converts a report into the slot finder's ranking hints, chronotype
// included. An every-day avoid slot becomes one slots.AvoidSlot per weekday,
// since the slot finder has no every-day avoid slot. Entries it cannot read
// are left out and confidences are clamped to 0..1, so the hints always pass
// the slot finder's validation; an unknown chronotype becomes neutral ("")
// for the same reason.
func (r Report) Hints(chronotype string) slots.Hints {
	h := slots.Hints{Chronotype: strings.ToLower(strings.TrimSpace(chronotype))}
	switch h.Chronotype {
	case "morning", "evening", "neutral", "":
	default:
		h.Chronotype = ""
	}
	for _, a := range r.AvoidSlots {
		d, anyDay, ok := parseDay(a.Day)
		f, t, okR := cutRange(a.TimeRange)
		if !ok || !okR {
			continue
		}
		from, e1 := slots.ParseClock(f)
		to, e2 := slots.ParseClock(t)
		conf := a.Confidence
		if math.IsNaN(conf) {
			conf = 0
		}
		conf = min(max(conf, 0), 1)
		if e1 != nil || e2 != nil || conf == 0 {
			continue // zero confidence would not move the ranking anyway
		}
		days := allDays
		if !anyDay {
			days = days[d : d+1]
		}
		for _, wd := range days {
			h.Avoid = append(h.Avoid, slots.AvoidSlot{Day: wd, From: from, To: to, Confidence: conf})
		}
	}
	for _, b := range r.BestTimes {
		d, anyDay, ok := parseDay(b.Day)
		at, err := slots.ParseClock(b.Time)
		if !ok || err != nil {
			continue
		}
		if anyDay {
			d = 0
		}
		h.Best = append(h.Best, slots.BestTime{Day: d, AnyDay: anyDay, At: at})
	}
	return h
}
