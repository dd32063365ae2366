package graph

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
)

// The corpus (testdata/nlu_corpus.json) is what people type with what a careful assistant
// would do about it. EvaluateCorpus runs it through the offline path, so the test and `flux
// bench nlu` measure the same thing.

// Corpus is testdata/nlu_corpus.json, built in so `flux bench nlu` runs anywhere.
//
//go:embed testdata/nlu_corpus.json
var Corpus []byte

// corpusFile is the corpus's JSON.
type corpusFile struct {
	About    []string `json:"about"`
	Defaults struct {
		Now      string          `json:"now"`
		Zone     string          `json:"zone"`
		Profile  json.RawMessage `json:"profile"`
		Calendar []struct {
			Title   string `json:"title"`
			At      string `json:"at"`
			Minutes int    `json:"minutes"`
		} `json:"calendar"`
	} `json:"defaults"`
	Entries []CorpusEntry `json:"entries"`
}

// CorpusEntry is one message and its expected outcome; see the corpus's "about".
type CorpusEntry struct {
	Text   string   `json:"text"`
	Before []string `json:"before,omitempty"`
	Now    string   `json:"now,omitempty"`
	Zone   string   `json:"zone,omitempty"`
	Outcome
	Miss string `json:"miss,omitempty"` // a known miss, with its reason
}

// Outcome is what a turn did, in the corpus's terms. Times are local "2006-01-02 15:04".
type Outcome struct {
	Kind   string `json:"kind"`
	Title  string `json:"title,omitempty"`
	At     string `json:"at,omitempty"`
	RRule  string `json:"rrule,omitempty"`
	Task   string `json:"task,omitempty"`
	TaskAt string `json:"task_at,omitempty"`
	Tasks  *int   `json:"tasks,omitempty"`
}

func (o Outcome) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("kind", o.Kind)
	add("title", o.Title)
	add("at", o.At)
	add("rrule", o.RRule)
	add("task", o.Task)
	add("task_at", o.TaskAt)
	if o.Tasks != nil {
		add("tasks", fmt.Sprint(*o.Tasks))
	}
	return strings.Join(parts, " ")
}

// Report is how much of the corpus the offline path reads exactly right.
type Report struct {
	Entries, Right int
	Kinds          map[string]*KindScore // by expected kind
	Failures       []Failure
}

// KindScore counts one expected kind.
type KindScore struct{ Entries, Right int }

// Failure is an entry read wrong; Miss is its known-miss reason, "" when it is not listed.
type Failure struct {
	Index     int
	Text      string
	Want, Got Outcome
	Miss      string
}

// Share is the fraction read exactly right; known misses count as wrong.
func (r Report) Share() float64 {
	if r.Entries == 0 {
		return 0
	}
	return float64(r.Right) / float64(r.Entries)
}

// Print writes the figures: entries, exactly right, share, and the share per kind.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "entries: %d\nexactly right: %d\nshare: %.1f%%\n", r.Entries, r.Right, 100*r.Share())
	for _, k := range slices.Sorted(maps.Keys(r.Kinds)) {
		s := r.Kinds[k]
		fmt.Fprintf(w, "  %-20s %3d/%-3d %5.1f%%\n", k, s.Right, s.Entries, 100*float64(s.Right)/float64(s.Entries))
	}
}

const corpusLayout = "2006-01-02 15:04"

// EvaluateCorpus runs every entry of a corpus through the offline path of a turn and
// compares what it did with what the entry expects.
func EvaluateCorpus(r io.Reader) (Report, error) {
	var c corpusFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Report{}, fmt.Errorf("graph: corpus: %w", err)
	}
	rep := Report{Kinds: map[string]*KindScore{}}
	for i, e := range c.Entries {
		got, err := c.run(e)
		if err != nil {
			return rep, fmt.Errorf("graph: corpus entry %d %q: %w", i, e.Text, err)
		}
		ks := rep.Kinds[e.Kind]
		if ks == nil {
			ks = &KindScore{}
			rep.Kinds[e.Kind] = ks
		}
		rep.Entries++
		ks.Entries++
		if e.Miss == "" && matches(e.Outcome, got) {
			rep.Right++
			ks.Right++
			continue
		}
		rep.Failures = append(rep.Failures, Failure{Index: i, Text: e.Text, Want: e.Outcome, Got: got, Miss: e.Miss})
	}
	return rep, nil
}

// Matches reports whether a turn's outcome is the expected one: the kind, and every field the
// expectation names (a one-off's rrule is "" and is always compared).
func matches(want, got Outcome) bool {
	eq := func(w, g string) bool { return w == "" || w == g }
	ok := want.Kind == got.Kind && eq(want.Title, got.Title) && eq(want.At, got.At) &&
		eq(want.Task, got.Task) && eq(want.TaskAt, got.TaskAt)
	if want.Kind == "task_created" {
		ok = ok && want.RRule == got.RRule
	}
	if want.Tasks != nil {
		ok = ok && got.Tasks != nil && *want.Tasks == *got.Tasks
	}
	return ok
}

// run answers the entry's earlier messages and then the entry, and describes the last turn.
func (c *corpusFile) run(e CorpusEntry) (Outcome, error) {
	zone := cmp.Or(e.Zone, c.Defaults.Zone)
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return Outcome{}, err
	}
	now, err := time.ParseInLocation(corpusLayout, cmp.Or(e.Now, c.Defaults.Now), loc)
	if err != nil {
		return Outcome{}, err
	}
	var cal []agentrun.BookedTask
	for i, b := range c.Defaults.Calendar {
		at, err := time.ParseInLocation(corpusLayout, b.At, loc)
		if err != nil {
			return Outcome{}, err
		}
		cal = append(cal, agentrun.BookedTask{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1), Title: b.Title,
			Status: "pending", ScheduledAt: at.UTC(), DurationMinutes: b.Minutes})
	}
	in := agentrun.Input{Timezone: zone, Onboarded: true, Now: now.UTC(), Profile: c.Defaults.Profile, Calendar: cal}
	var out agentrun.Output
	for _, text := range append(slices.Clone(e.Before), e.Text) {
		in.Content = text
		if out, err = (&Graph{}).Turn(context.Background(), agentrun.Run{}, in); err != nil {
			// The user would see the runner's failure reply: a wrong answer, not a broken corpus.
			return Outcome{Kind: "error", Title: err.Error()}, nil
		}
		in.State = out.State
	}
	return describe(out, cal, loc)
}

// describe says what a turn did, from what it writes and the state it leaves.
func describe(out agentrun.Output, cal []agentrun.BookedTask, loc *time.Location) (Outcome, error) {
	var st State
	if err := json.Unmarshal(out.State, &st); err != nil {
		return Outcome{}, err
	}
	local := func(t time.Time) string { return t.In(loc).Format(corpusLayout) }
	task := func(id string) (string, string) {
		for _, b := range cal {
			if b.ID == id {
				return b.Title, local(b.ScheduledAt)
			}
		}
		return "?" + id, ""
	}
	var meta map[string]any
	if n := len(out.Replies); n > 0 {
		if err := json.Unmarshal(out.Replies[n-1].Metadata, &meta); err != nil {
			return Outcome{}, err
		}
	}
	kind, _ := meta["kind"].(string)
	var o Outcome
	switch {
	case len(out.Reschedules) > 0:
		o.Kind, o.At = "rescheduled", local(out.Reschedules[0].At)
		o.Task, o.TaskAt = task(out.Reschedules[0].TaskID)
	case len(out.Cancels) > 0:
		o.Kind = "cancelled"
		o.Task, o.TaskAt = task(out.Cancels[0])
	case len(out.Tasks) > 0:
		k := out.Tasks[0]
		o = Outcome{Kind: "task_created", Title: k.Title, At: local(k.ScheduledAt), RRule: k.RecurrenceRule}
	case kind == "plan" && st.PendingPlan != nil:
		o = Outcome{Kind: "goal_plan", Title: st.PendingPlan.Plan.GoalTitle}
	case meta["proposal"] == "reschedule" && st.PendingReschedule != nil:
		o.Kind, o.At = "reschedule_proposed", local(st.PendingReschedule.At)
		o.Task, o.TaskAt = task(st.PendingReschedule.TaskID)
	case meta["proposal"] == "cancel" && st.PendingCancel != nil:
		o.Kind = "cancel_proposed"
		o.Task, o.TaskAt = task(st.PendingCancel.TaskID)
	case kind == "question":
		o.Kind = "question"
		if st.PendingTask != nil {
			o.Title = st.PendingTask.Title
		}
		if st.PendingReschedule != nil {
			o.Task, o.TaskAt = task(st.PendingReschedule.TaskID)
		}
	case kind == "agenda":
		n, _ := meta["tasks"].(float64)
		o.Kind, o.Tasks = kind, new(int(n))
	default:
		o.Kind = cmp.Or(kind, "none")
	}
	return o, nil
}
