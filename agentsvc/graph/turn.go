package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/slots"
	"github.com/flux-companion/flux/agentsvc/timeparse"
)

// turn is one message being answered.
type turn struct {
	g       *Graph
	run     agentrun.Run
	in      agentrun.Input
	loc     *time.Location
	log     *slog.Logger
	state   State
	profile profile
	redact  *redactor
	trace   *tracer
	small   bool // past the hard token limit

	mu  sync.Mutex // out.Tokens and out.Replies may be written by the concurrent summarizer
	out agentrun.Output
	// spent is what the turn's replies cost (tokens and the last model), per writer: the
	// summarizer's go on its summary message, the rest on the turn's last reply.
	spent, summarySpent struct {
		tokens int
		model  string
	}
	// mode is how the turn's replies are made: offline from the start when no model is
	// configured (Turn), fallback once the models failed (withModel). The few replies with a
	// rule of their own pass theirs to replyAs.
	mode mode
}

// mode is how a reply was made, which its label says.
type mode uint8

const (
	modeOnline   mode = iota // by the models, or by code that needs none while they are there: no label
	modeOffline              // without the AI planner: ends with OfflineNote, metadata "offline": true
	modeFallback             // offline because the AI planner, configured, failed just now: says so too
)

// deterministic is the mode of replies by code that needs no model (moves, cancellations):
// labelled offline only when no model is configured at all.
func (t *turn) deterministic() mode {
	if t.g.LLM == nil {
		return modeOffline
	}
	return modeOnline
}

// planMode is the mode of a plan's replies: the plan's own (a template is made offline), in
// the fallback's words while the turn answers in them.
func (t *turn) planMode(pp *PendingPlan) mode {
	switch {
	case !pp.Offline:
		return modeOnline
	case t.mode == modeFallback:
		return modeFallback
	}
	return modeOffline
}

// profile is what the graph reads of users.profile. Name is only used to redact prompts.
type profile struct {
	Name        string `json:"name"`
	Chronotype  string `json:"chronotype"`
	SleepWindow *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"sleep_window"`
	WorkHours *struct {
		Start string   `json:"start"`
		End   string   `json:"end"`
		Days  []string `json:"days"`
	} `json:"work_hours"`
}

// reply adds a reply in the turn's mode.
func (t *turn) reply(content, node string, meta map[string]any) {
	t.replyAs(t.mode, content, node, meta)
}

// replyAs adds a reply made in mode m, labelled as such.
func (t *turn) replyAs(m mode, content, node string, meta map[string]any) {
	if m != modeOnline {
		meta["offline"] = true
		if m == modeFallback {
			content = "The AI planner is unavailable right now, so here is a simpler answer. " + content
		}
		content += " " + OfflineNote
	}
	b, _ := json.Marshal(meta) // maps of strings, numbers and plans always marshal
	t.mu.Lock()
	t.out.Replies = append(t.out.Replies, agentrun.Reply{Content: content, Node: node, Metadata: b})
	t.mu.Unlock()
}

// snapshot and restore drop what a failed model path prepared; tokens and the trace stay,
// because they were spent. The state is copied deeply; the output's slices are only appended
// to before the turn ends, so their lengths keep what was there, and Replies is copied
// because restore filters it in place.
func (t *turn) snapshot() (agentrun.Output, State) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.out
	out.Replies = slices.Clone(out.Replies)
	return out, t.state.clone()
}

func (t *turn) restore(out agentrun.Output, st State) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// The concurrent summarizer's message stays, whenever it was added.
	replies := slices.DeleteFunc(out.Replies, func(r agentrun.Reply) bool { return r.Role == "summary" })
	for _, r := range t.out.Replies {
		if r.Role == "summary" {
			replies = append(replies, r)
		}
	}
	tokens := t.out.Tokens
	t.out = out
	t.out.Replies, t.out.Tokens = replies, tokens
	t.state = st
}

func (t *turn) addTokens(node, model string, n int) {
	if n <= 0 || model == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.spent
	if node == "summarizer" {
		s = &t.summarySpent
	}
	s.tokens += n
	s.model = model
	if t.out.Tokens == nil {
		t.out.Tokens = map[string]int{}
	}
	t.out.Tokens[model] += n
}

// parse reads a time expression in the user's zone, with the user's conventions: numeric
// dates month first in US zones, open hours away from the user's sleep, parts of day at
// their usual times.
func (t *turn) parse(text string) timeparse.Result {
	p := timeparse.ParseWith(text, t.in.Now, t.loc, timeparse.Options{
		MonthFirst: monthFirstZone(t.in.Timezone), Asleep: t.asleep(),
		PartTimes: timeparse.DefaultPartTimes, DaysKeepTime: true,
	})
	p.HasTime = p.HasTime && !p.At.IsZero()
	return p
}

// asleep reads the profile's sleep window; nil when there is none.
func (t *turn) asleep() func(h, m int) bool {
	w := t.profile.SleepWindow
	if w == nil {
		return nil
	}
	bed, err1 := slots.ParseClock(w.Start)
	wake, err2 := slots.ParseClock(w.End)
	if err1 != nil || err2 != nil || bed == wake {
		return nil
	}
	from, to := bed.Minutes(), wake.Minutes()
	return func(h, m int) bool {
		x := h*60 + m
		if from > to { // across midnight, as sleep usually is
			return x >= from || x < to
		}
		return x >= from && x < to
	}
}

// monthFirstZone: the US writes 3/12 for March 12; the rest of the world this corpus met
// writes the day first.
func monthFirstZone(zone string) bool {
	switch zone {
	case "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix",
		"America/Anchorage", "America/Detroit", "America/Boise", "America/Juneau", "America/Adak",
		"America/Indiana/Indianapolis", "America/Kentucky/Louisville", "Pacific/Honolulu", "US/Eastern",
		"US/Central", "US/Mountain", "US/Pacific":
		return true
	}
	return false
}

// chargeReplies records on the messages what they cost (messages.tokens_used, provider).
func (t *turn) chargeReplies() {
	last := -1
	for i := range t.out.Replies {
		r := &t.out.Replies[i]
		if r.Role == "summary" {
			r.Tokens, r.Provider = t.summarySpent.tokens, t.summarySpent.model
		} else {
			last = i
		}
	}
	if last >= 0 {
		t.out.Replies[last].Tokens, t.out.Replies[last].Provider = t.spent.tokens, t.spent.model
	}
}

// tokenWarning adds the product's soft-limit warning (docs/product.md) to the turn's last assistant reply.
func (t *turn) tokenWarning() {
	used := t.in.TokensThisMonth
	for _, n := range t.out.Tokens {
		used += int64(n)
	}
	if used < SoftTokenLimit {
		return
	}
	for i := len(t.out.Replies) - 1; i >= 0; i-- {
		r := &t.out.Replies[i]
		if r.Role == "summary" {
			continue
		}
		note := fmt.Sprintf("Heads-up: you have used %d of your %d monthly AI tokens.", used, HardTokenLimit)
		if used >= HardTokenLimit {
			note += " Until the monthly reset, planning uses a smaller model."
		}
		r.Content += "\n\n" + note
		var meta map[string]any
		_ = json.Unmarshal(r.Metadata, &meta)
		if meta == nil {
			meta = map[string]any{}
		}
		meta["token_warning"] = map[string]any{"used": used, "soft_limit": SoftTokenLimit, "hard_limit": HardTokenLimit}
		r.Metadata, _ = json.Marshal(meta)
		return
	}
}

// redactor removes the user's name, email and phone number from what is sent to a model:
// agents pass ids, never personal data (docs/product.md), and the user may well type them.
type redactor struct{ re *regexp.Regexp }

func newRedactor(email, phone, name string) *redactor {
	var alts []string
	if email != "" {
		alts = append(alts, regexp.QuoteMeta(email))
	}
	if digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone); len(digits) >= 6 {
		// Any spacing of the same digits: "+49 170 1234567", "0170-1234567" (the last 8 digits).
		tail := digits[max(0, len(digits)-8):]
		var b strings.Builder
		for i, r := range tail {
			if i > 0 {
				b.WriteString(`[\s().-]*`)
			}
			b.WriteRune(r)
		}
		alts = append(alts, `\+?[\d\s().-]*`+b.String())
	}
	for _, part := range append([]string{name}, strings.Fields(name)...) {
		if len([]rune(part)) >= 2 {
			alts = append(alts, `\b`+regexp.QuoteMeta(part)+`\b`)
		}
	}
	if len(alts) == 0 {
		return &redactor{}
	}
	// Longest first, so the full name goes before its parts.
	sort.SliceStable(alts, func(i, j int) bool { return len(alts[i]) > len(alts[j]) })
	return &redactor{re: regexp.MustCompile(`(?i)(` + strings.Join(alts, "|") + `)`)}
}

func (r *redactor) apply(s string) string {
	if r.re == nil {
		return s
	}
	return r.re.ReplaceAllString(s, "[redacted]")
}

// tracer records what each node of a turn did, for flux.agent_runs.trace.
type tracer struct {
	start time.Time
	mu    sync.Mutex
	spans []Span
}

// Span is one node's work in a turn. Start and End are offsets from the turn's start.
type Span struct {
	Node     string  `json:"node"`
	Model    string  `json:"model,omitempty"`
	Prompt   string  `json:"prompt,omitempty"`
	Tokens   int     `json:"tokens,omitempty"`
	Attempts int     `json:"attempts,omitempty"`
	StartMS  float64 `json:"start_ms"`
	EndMS    float64 `json:"end_ms"`
	Error    string  `json:"error,omitempty"`
}

func newTracer() *tracer { return &tracer{start: time.Now()} }

// spanFrom starts a node launched at began; the returned func ends it. Consultations launched together share their start,
// so the trace shows what ran side by side even when one of them needs only microseconds.
// The node is also an OpenTelemetry span (startNode), in the returned context.
func (tr *tracer) spanFrom(ctx context.Context, node string, began time.Time) (context.Context, func(s Span)) {
	ctx, otelSpan := startNode(ctx, node, began)
	return ctx, func(s Span) {
		endNode(otelSpan, s)
		s.Node = node
		s.StartMS = ms(began.Sub(tr.start))
		s.EndMS = ms(time.Since(tr.start))
		tr.mu.Lock()
		tr.spans = append(tr.spans, s)
		tr.mu.Unlock()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (tr *tracer) json() (json.RawMessage, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	spans := append([]Span{}, tr.spans...) // [] rather than null for a turn without nodes
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].StartMS < spans[j].StartMS })
	return json.Marshal(map[string]any{"spans": spans})
}
