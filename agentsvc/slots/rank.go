package slots

import (
	"cmp"
	"slices"
)

// Ranking weights, in penalty points where one point is one minute away from
// the preferred time. They are documented in doc.go; change both together.
const (
	chronoWeight       = 1.0 // per minute outside the chronotype band
	chronoWeightByPref = 0.5 // when a preferred time is given it must dominate
	avoidWeight        = 240 // × confidence × share of occurrences in the avoid slot
	bestWeight         = 120 // × share of occurrences at a best time, fading over an hour
	bestReach          = 60  // minutes over which a best-time bonus fades to zero
	defaultDayStart    = 7 * 60
	minutesPerWeek     = 7 * minutesPerDay
)

// Chronotype bands: the span of start times a morning or evening person
// prefers (06:00–09:00, 18:00–21:00), as the last grid start inside.
var bands = map[string][2]int{
	"morning": {6 * 60, 9*60 - stepMinutes},
	"evening": {18 * 60, 21*60 - stepMinutes},
}

type candidate struct {
	c     Clock
	score float64
	order int // minutes after the day start: the tie-break
}

// rank scores every grid time for p and returns them best first.
func (cal *Calendar) rank(p *plan) []candidate {
	h := &cal.Hints
	dayStart := defaultDayStart
	if cal.Sleep != nil && !cal.Sleep.empty() {
		dayStart = cal.Sleep.End.Minutes()
	}
	band, hasBand := bands[h.Chronotype]
	cw := chronoWeight
	if p.pref != nil {
		cw = chronoWeightByPref
	}
	total := 0
	for _, n := range p.counts {
		total += n
	}

	// Avoid slots as week-minute spans, computed once for all candidates.
	type span struct {
		at, n int
		pen   float64
	}
	avoid := make([]span, 0, len(h.Avoid))
	for _, a := range h.Avoid {
		if a.From != a.To {
			avoid = append(avoid, span{int(a.Day)*minutesPerDay + a.From.Minutes(), Window{a.From, a.To}.length(), avoidWeight * clamp01(a.Confidence)})
		}
	}

	out := make([]candidate, 0, minutesPerDay/stepMinutes)
	for m := 0; m < minutesPerDay; m += stepMinutes {
		var s float64
		if p.pref != nil {
			s += float64(circDist(m, p.pref.Minutes()))
		}
		if hasBand && (m < band[0] || m > band[1]) {
			s += cw * float64(min(circDist(m, band[0]), circDist(m, band[1])))
		}
		for wd, n := range p.counts {
			if n == 0 {
				continue
			}
			var pen, bonus float64
			for _, a := range avoid {
				if ringOverlap(wd*minutesPerDay+m, p.dmin, a.at, a.n) {
					pen += a.pen
				}
			}
			for _, b := range h.Best {
				if !b.AnyDay && int(b.Day) != wd {
					continue
				}
				if d := circDist(m, b.At.Minutes()); d < bestReach {
					bonus = max(bonus, bestWeight*(1-float64(d)/bestReach))
				}
			}
			s += float64(n) / float64(total) * (pen - bonus)
		}
		out = append(out, candidate{c: ClockOf(m), score: s, order: (m - dayStart + minutesPerDay) % minutesPerDay})
	}
	slices.SortFunc(out, func(a, b candidate) int { return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.order, b.order)) })
	return out
}

// circDist is the distance in minutes between two times of day, either way
// round the clock.
func circDist(a, b int) int {
	d := a - b
	if d < 0 {
		d = -d
	}
	return min(d, minutesPerDay-d)
}

// ringOverlap tests [a, a+la) against [b, b+lb) on the week, wrapping at
// the end of Saturday.
func ringOverlap(a, la, b, lb int) bool {
	for _, shift := range [3]int{-minutesPerWeek, 0, minutesPerWeek} {
		if a < b+shift+lb && b+shift < a+la {
			return true
		}
	}
	return false
}

func clamp01(f float64) float64 { return min(max(f, 0), 1) }
