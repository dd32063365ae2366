// Command nlucompare reads the corpus's one-off reminders with three time parsers — Flux's
// timeparse, github.com/markusmobius/go-dateparser and github.com/olebedev/when — and counts
// the exact readings (local date and time equal to the corpus's). It is a separate module so
// the libraries never enter Flux's go.mod. Run: go run . [../nlu_corpus.json]
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	dps "github.com/markusmobius/go-dateparser"
	"github.com/olebedev/when"
	"github.com/olebedev/when/rules/common"
	"github.com/olebedev/when/rules/en"

	"github.com/flux-companion/flux/agentsvc/timeparse"
)

const layout = "2006-01-02 15:04"

type entry struct {
	Text, Now, Zone, Kind, At, RRule string
	Before                           []string
}

func main() {
	path := "../nlu_corpus.json"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	var c struct {
		Defaults struct{ Now, Zone string }
		Entries  []entry
	}
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	w := when.New(nil)
	w.Add(en.All...)
	w.Add(common.All...)

	var oneOff, rec, tp, tpRec, dpFirst, dpAny, wh int
	var sleepy = func(h, m int) bool { mins := h*60 + m; return mins >= 23*60 || mins < 6*60+30 }
	for _, e := range c.Entries {
		if e.Kind != "task_created" || len(e.Before) > 0 {
			continue
		}
		zone := or(e.Zone, c.Defaults.Zone)
		loc, _ := time.LoadLocation(zone)
		now, _ := time.ParseInLocation(layout, or(e.Now, c.Defaults.Now), loc)
		opts := timeparse.Options{MonthFirst: strings.HasPrefix(zone, "America/"), Asleep: sleepy, PartTimes: timeparse.DefaultPartTimes, DaysKeepTime: true}
		p := timeparse.ParseWith(e.Text, now, loc, opts)
		tpAt := ""
		if p.HasTime {
			tpAt = p.At.In(loc).Format(layout)
		}
		if e.RRule != "" {
			rec++
			if tpAt == e.At && p.RRule == e.RRule {
				tpRec++
			}
			continue
		}
		oneOff++
		if tpAt == e.At {
			tp++
		}
		cfg := &dps.Configuration{CurrentTime: now, DefaultTimezone: loc, Languages: []string{"en"},
			PreferredDateSource: dps.Future, DateOrder: func(string) string {
				if opts.MonthFirst {
					return "MDY"
				}
				return "DMY"
			}}
		_, found, _ := dps.Search(cfg, e.Text)
		for i, f := range found {
			got := f.Date.Time.In(loc).Format(layout)
			if got == e.At {
				dpAny++
				if i == 0 {
					dpFirst++
				}
				break
			}
		}
		if r, err := w.Parse(e.Text, now); err == nil && r != nil && r.Time.In(loc).Format(layout) == e.At {
			wh++
		}
		if os.Getenv("VERBOSE") != "" {
			fmt.Printf("%-60q want %s  timeparse %s\n", e.Text, e.At, tpAt)
		}
	}
	pct := func(n, of int) string { return fmt.Sprintf("%d/%d (%.1f%%)", n, of, 100*float64(n)/float64(of)) }
	fmt.Printf("one-off reminders (date and time exactly right): %d\n", oneOff)
	fmt.Printf("  timeparse            %s\n", pct(tp, oneOff))
	fmt.Printf("  go-dateparser first  %s\n", pct(dpFirst, oneOff))
	fmt.Printf("  go-dateparser any    %s  (any of its search results)\n", pct(dpAny, oneOff))
	fmt.Printf("  when                 %s\n", pct(wh, oneOff))
	fmt.Printf("recurring reminders (first occurrence and RRULE): %d\n", rec)
	fmt.Printf("  timeparse            %s  (the libraries read no recurrence rules)\n", pct(tpRec, rec))
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
