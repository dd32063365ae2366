package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/onboarding"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/agentsvc/slots"
)

// onboard runs one step of onboarding. When it finishes, the profile, timezone, phone and
// onboarded flag are written with the commitments pre-seeded as tasks, and the user's answer
// to "a first goal or task?" is answered in the same turn.
func (t *turn) onboard(ctx context.Context) error {
	var st onboarding.State
	if t.state.Onboarding != nil {
		st = *t.state.Onboarding
	}
	res := onboarding.Next(st, onboarding.Input{Text: t.in.Content, Now: t.in.Now, ClientTZ: t.in.Timezone})
	if !res.Done {
		t.state.Onboarding = &res.State
		t.replyAs(modeOnline, res.Reply, "onboarding", map[string]any{"kind": "question", "field": res.Field, "step": int(res.State.Step)})
		return nil
	}
	t.state.Onboarding = nil
	loc, err := time.LoadLocation(res.Timezone)
	if err != nil {
		return fmt.Errorf("graph: onboarding timezone %q: %w", res.Timezone, err)
	}
	merged, err := mergeProfile(t.in.Profile, res.State.Profile)
	if err != nil {
		return err
	}
	t.out.Profile, t.out.Timezone, t.out.Onboarded, t.out.Phone = merged, res.Timezone, true, res.State.Phone

	// From here on the turn is an onboarded user's, in the confirmed zone.
	t.loc, t.in.Timezone, t.in.Profile, t.profile = loc, res.Timezone, merged, profile{}
	_ = json.Unmarshal(merged, &t.profile)
	t.redact = newRedactor(t.in.Email, res.State.Phone, res.State.Profile.Name)
	seeded := 0
	for _, c := range res.State.Profile.Commitments {
		rule := commitmentRule(c.Days)
		for _, at := range res.State.Profile.CommitmentStarts(c, t.in.Now, loc, Horizon) {
			t.out.Tasks = append(t.out.Tasks, agentrun.NewTask{Title: c.Title, ScheduledAt: at.UTC(), DurationMinutes: c.DurationMinutes, RecurrenceRule: rule})
			t.in.Calendar = append(t.in.Calendar, agentrun.BookedTask{Title: c.Title, ScheduledAt: at.UTC(), DurationMinutes: c.DurationMinutes, Status: "pending"})
			seeded++
		}
	}
	t.replyAs(modeOnline, res.Reply, "onboarding", map[string]any{"kind": "onboarded", "tasks": seeded})
	if strings.TrimSpace(res.Handoff) == "" {
		return nil
	}
	return t.answer(ctx, res.Handoff)
}

// mergeProfile lays onboarding's answers over the stored profile, keeping keys it does not set.
func mergeProfile(stored json.RawMessage, p onboarding.Profile) (json.RawMessage, error) {
	merged := map[string]any{}
	_ = json.Unmarshal(stored, &merged)
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	for k, v := range fields {
		merged[k] = v
	}
	return json.Marshal(merged)
}

// commitmentRule is the RRULE of a commitment's days ("Mon", "Wed" → FREQ=WEEKLY;BYDAY=MO,WE).
func commitmentRule(names []string) string {
	var days []time.Weekday
	for _, n := range names {
		if d, err := slots.ParseWeekday(n); err == nil && !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return "" // onboarding never stores a commitment without days
	}
	return plan.WeeklyRule(days)
}
