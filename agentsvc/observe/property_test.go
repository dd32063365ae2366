package observe_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/observe"
	"github.com/flux-companion/flux/agentsvc/slots"
)

var seedFlag = flag.Uint64("observe.seed", 0, "run the property test on this one seed")

var propZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"}

// randomInput is n outcomes over the days before a fixed Now, at a few
// habitual hours, each (weekday, hour) with its own chance of being done,
// so both strong and weak slots appear.
func randomInput(rng *rand.Rand, loc *time.Location, n, days int) observe.Input {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, loc)
	hours := []int{6, 7, 8, 12, 18, 19, 21}
	chances := []float64{0.05, 0.5, 0.95}
	var bias [7][24]float64
	for d := range bias {
		for h := range bias[d] {
			bias[d][h] = chances[rng.IntN(len(chances))]
		}
	}
	tagSet := []string{"Fitness", "Learning", "Health", "Career", "Fitness"}
	in := observe.Input{Loc: loc, Now: now.UTC(), Chronotype: []string{"morning", "evening", "neutral", ""}[rng.IntN(4)]}
	for range n {
		t := time.Date(2026, 4, 1-rng.IntN(days), hours[rng.IntN(len(hours))], 15*rng.IntN(3), 0, 0, loc)
		o := observe.Outcome{ScheduledAt: t.UTC(), Done: rng.Float64() < bias[t.Weekday()][t.Hour()]}
		for range rng.IntN(3) {
			o.Tags = append(o.Tags, tagSet[rng.IntN(len(tagSet))])
		}
		in.History = append(in.History, o)
	}
	return in
}

func TestPropertyReportFollowsTheRules(t *testing.T) {
	t.Parallel()
	seeds := []uint64{*seedFlag}
	if *seedFlag == 0 {
		master := rand.Uint64()
		t.Logf("master seed %d; rerun one failing input with -observe.seed=N", master)
		mr := rand.New(rand.NewPCG(master, 0))
		seeds = make([]uint64, 300)
		for i := range seeds {
			seeds[i] = mr.Uint64()
		}
	}
	for _, seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 1))
		loc := loadLoc(t, propZones[rng.IntN(len(propZones))])
		in := randomInput(rng, loc, rng.IntN(200), 1+rng.IntN(84))
		if msg := checkReport(in); msg != "" {
			t.Fatalf("seed %d (%s, %d outcomes): %s", seed, loc, len(in.History), msg)
		}
	}
}

// Inputs the property test once failed on: an avoid window centred on a best hour, made by the
// misses of the hour before it.
func TestPropertyRegressions(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{16422434252373639123, 1656706387439613488, 8399379667765747571} {
		rng := rand.New(rand.NewPCG(seed, 1))
		loc := loadLoc(t, propZones[rng.IntN(len(propZones))])
		in := randomInput(rng, loc, rng.IntN(200), 1+rng.IntN(84))
		if msg := checkReport(in); msg != "" {
			t.Errorf("seed %d (%s, %d outcomes): %s", seed, loc, len(in.History), msg)
		}
	}
}

func FuzzObserve(f *testing.F) {
	f.Add(uint64(1), uint16(0), uint8(10), uint8(0))
	f.Add(uint64(2), uint16(2), uint8(30), uint8(1))
	f.Add(uint64(3), uint16(40), uint8(13), uint8(2))
	f.Add(uint64(4), uint16(300), uint8(84), uint8(4))
	f.Fuzz(func(t *testing.T, seed uint64, n uint16, days, zone uint8) {
		rng := rand.New(rand.NewPCG(seed, 1))
		loc := loadLoc(t, propZones[int(zone)%len(propZones)])
		in := randomInput(rng, loc, int(n)%500, 1+int(days)%90)
		if msg := checkReport(in); msg != "" {
			t.Fatal(msg)
		}
	})
}

type count struct{ done, total int }

func (c count) rate() float64 { return float64(c.done) / float64(c.total) }

// checkReport recomputes what the report claims with naive code and
// returns what does not hold.
func checkReport(in observe.Input) string {
	r := observe.Observe(in)
	loc := in.Loc
	rev := slices.Clone(in.History)
	slices.Reverse(rev)
	if r2 := observe.Observe(observe.Input{Loc: loc, Now: in.Now, Chronotype: in.Chronotype, History: rev}); !reflect.DeepEqual(r, r2) {
		return "report depends on input order"
	}
	if r.DataPoints != len(in.History) {
		return fmt.Sprintf("data points %d, want %d", r.DataPoints, len(in.History))
	}
	if len(r.BestTimes) > observe.MaxBestTimes || len(r.GeneralNotes) > observe.MaxNotes || len(r.GeneralNotes) == 0 {
		return fmt.Sprintf("%d best times, %d notes", len(r.BestTimes), len(r.GeneralNotes))
	}
	var oldest time.Time
	for i, o := range in.History {
		if i == 0 || o.ScheduledAt.Before(oldest) {
			oldest = o.ScheduledAt
		}
	}
	if cold := len(in.History) < 3 || in.Now.Sub(oldest) < 14*24*time.Hour; r.ColdStart != cold {
		return fmt.Sprintf("cold start %v, want %v", r.ColdStart, cold)
	}
	inRange := func(day string, from, to int, pick func(time.Time) bool) count {
		var c count
		for _, o := range in.History {
			lt := o.ScheduledAt.In(loc)
			m := lt.Hour()*60 + lt.Minute()
			if lt.Weekday().String()[:3] == day && m >= from && m < to && pick(lt) {
				c.total++
				if o.Done {
					c.done++
				}
			}
		}
		return c
	}
	all := func(time.Time) bool { return true }
	confs := func(c float64) bool { return c >= 0 && c <= 1 && (!r.ColdStart || c < 0.5) }

	type hourOf struct {
		day string
		h   int
	}
	var bestHours []hourOf
	for _, b := range r.BestTimes {
		if !confs(b.Confidence) {
			return fmt.Sprintf("best time %+v: confidence out of range", b)
		}
		if b.Day == "any" {
			if !r.ColdStart || !strings.HasPrefix(b.Reason, "Cold start") {
				return fmt.Sprintf("every-day best time %+v outside cold start", b)
			}
			continue
		}
		at, err := slots.ParseClock(b.Time)
		if err != nil {
			return err.Error()
		}
		c := inRange(b.Day, at.H*60, at.H*60+60, all)
		if c.total < 3 || c.rate() < 0.75 {
			return fmt.Sprintf("best time %+v backed by %d of %d", b, c.done, c.total)
		}
		// The reported minute is the most common done start in the hour.
		same := inRange(b.Day, at.H*60+at.M, at.H*60+at.M+1, all)
		for m := at.H * 60; m < at.H*60+60; m++ {
			if o := inRange(b.Day, m, m+1, all); o.done > same.done || o.done == same.done && o.done > 0 && m < at.H*60+at.M {
				return fmt.Sprintf("best time %+v: %02d:%02d has %d done", b, m/60, m%60, o.done)
			}
		}
		bestHours = append(bestHours, hourOf{b.Day, at.H})
	}

	var hist []observe.AvoidSlot
	mondayRule := false
	for _, a := range r.AvoidSlots {
		if !confs(a.Confidence) {
			return fmt.Sprintf("avoid slot %+v: confidence out of range", a)
		}
		if a.TimeRange == "06:00-10:00" && a.Day == "Mon" && a.Confidence == 0.3 {
			mondayRule = true
			continue
		}
		hist = append(hist, a)
		f, to, _ := strings.Cut(a.TimeRange, "-")
		fc, err1 := slots.ParseClock(f)
		tc, err2 := slots.ParseClock(to)
		if err1 != nil || err2 != nil {
			return fmt.Sprintf("avoid slot %+v: bad range", a)
		}
		from, end := fc.H*60+fc.M, tc.H*60+tc.M
		if end == 0 {
			end = 24 * 60
		}
		if end-from != 60 && end-from != 120 {
			return fmt.Sprintf("avoid slot %+v is not one or two hours within the day", a)
		}
		c := inRange(a.Day, from, end, all)
		if c.total < 3 || c.rate() > 0.34 {
			return fmt.Sprintf("avoid slot %+v backed by %d of %d", a, c.done, c.total)
		}
		if slices.ContainsFunc(bestHours, func(b hourOf) bool { return b.day == a.Day && b.h*60 >= from && b.h*60 < end }) {
			return fmt.Sprintf("avoid slot %+v covers a best time", a)
		}
	}
	for i, a := range hist {
		for _, b := range hist[i+1:] {
			if a.Day == b.Day && a.TimeRange[:5] < b.TimeRange[6:] && b.TimeRange[:5] < a.TimeRange[6:] && a.TimeRange[6:] != "00:00" && b.TimeRange[6:] != "00:00" {
				return fmt.Sprintf("avoid slots %+v and %+v overlap", a, b)
			}
		}
	}
	mon := inRange("Mon", 6*60, 10*60, all)
	if want := !(mon.total >= 3 && mon.rate() >= 0.75); mondayRule != want {
		return fmt.Sprintf("Monday rule %v with Monday mornings %d of %d", mondayRule, mon.done, mon.total)
	}

	cats := map[string]*count{}
	for _, o := range in.History {
		seen := map[string]bool{}
		for _, tag := range o.Tags {
			if seen[tag] {
				continue
			}
			seen[tag] = true
			if cats[tag] == nil {
				cats[tag] = &count{}
			}
			cats[tag].total++
			if o.Done {
				cats[tag].done++
			}
		}
	}
	var wantCats []observe.CategoryPerformance
	if len(in.History) >= 3 {
		for tag, c := range cats {
			if c.total >= 3 {
				wantCats = append(wantCats, observe.CategoryPerformance{Category: tag, CompletionRate: float64(int(c.rate()*100+0.5)) / 100, DataPoints: c.total})
			}
		}
	}
	slices.SortFunc(wantCats, func(a, b observe.CategoryPerformance) int {
		if a.CompletionRate != b.CompletionRate {
			if a.CompletionRate < b.CompletionRate {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Category, b.Category)
	})
	if len(wantCats) != len(r.CategoryPerformance) {
		return fmt.Sprintf("categories %+v, want %+v", r.CategoryPerformance, wantCats)
	}
	for i := range wantCats {
		// Rounded rates may tie where exact ones do not: compare as sets of rows.
		if !slices.Contains(r.CategoryPerformance, wantCats[i]) || i > 0 && r.CategoryPerformance[i].CompletionRate < r.CategoryPerformance[i-1].CompletionRate {
			return fmt.Sprintf("categories %+v, want %+v", r.CategoryPerformance, wantCats)
		}
	}

	// The hints must pass the slot finder's validation and say the same.
	h := r.Hints(in.Chronotype)
	nAvoid := 0
	for _, a := range r.AvoidSlots {
		switch {
		case a.Confidence == 0:
		case a.Day == "any":
			nAvoid += 7
		default:
			nAvoid++
		}
	}
	if len(h.Best) != len(r.BestTimes) || len(h.Avoid) != nAvoid {
		return fmt.Sprintf("hints %+v for report %+v", h, r)
	}
	cal := slots.Calendar{Loc: loc, Hints: h}
	if _, err := cal.Place(in.Now, slots.Request{Title: "probe", Duration: 30 * time.Minute}); err != nil {
		return fmt.Sprintf("slot finder rejects the hints: %v", err)
	}
	return ""
}
