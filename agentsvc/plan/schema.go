package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// SchemaName is the response_format json_schema name for the plan.
const SchemaName = "goal_plan"

// Schema returns the JSON Schema of Plan for strict structured outputs, e.g.
// llm.Schema(plan.SchemaName, plan.Schema()). The result is a fresh copy.
func Schema() json.RawMessage { return slices.Clone(schemaJSON()) }

var schemaJSON = sync.OnceValue(func() []byte {
	b, err := json.Marshal(planSchema())
	if err != nil {
		panic(fmt.Sprintf("plan: schema: %v", err)) // static data; a test covers it
	}
	return b
})

// node is a schema in the strict-mode subset. Properties keep their order,
// because models write keys in schema order and the plan reads better when
// the summary comes after the tasks it summarizes.
type node struct {
	typ   string
	desc  string
	enum  []string
	props []prop
	items *node
}

type prop struct {
	name string
	node *node
}

func (n *node) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	writeJSON(&b, n.typ)
	if n.desc != "" {
		b.WriteString(`,"description":`)
		writeJSON(&b, n.desc)
	}
	if n.enum != nil {
		b.WriteString(`,"enum":`)
		writeJSON(&b, n.enum)
	}
	if n.typ == "object" {
		names := make([]string, len(n.props))
		b.WriteString(`,"properties":{`)
		for i, p := range n.props {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(&b, p.name)
			b.WriteByte(':')
			writeJSON(&b, p.node)
			names[i] = p.name
		}
		b.WriteString(`},"required":`)
		writeJSON(&b, names) // strict mode: every property is required
		b.WriteString(`,"additionalProperties":false`)
	}
	if n.items != nil {
		b.WriteString(`,"items":`)
		writeJSON(&b, n.items)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any) {
	enc, _ := json.Marshal(v) // strings, string slices and nodes always marshal
	b.Write(enc)
}

func str(desc string) *node                 { return &node{typ: "string", desc: desc} }
func integer(desc string) *node             { return &node{typ: "integer", desc: desc} }
func enum(desc string, vals []string) *node { return &node{typ: "string", desc: desc, enum: vals} }
func array(desc string, items *node) *node  { return &node{typ: "array", desc: desc, items: items} }
func object(desc string, props ...prop) *node {
	return &node{typ: "object", desc: desc, props: props}
}

func planSchema() *node {
	days := strings.Join(Weekdays, ", ")
	return object("A sustainable 6-week plan for one goal.",
		prop{"goal_title", str(fmt.Sprintf("Short goal title, at most %d characters.", MaxTitleLen))},
		prop{"goal_description", str("What the goal is and why it matters to the user.")},
		prop{"tags", array(fmt.Sprintf("1 to %d distinct tags, specific over general.", MaxTags),
			enum("Taxonomy tag.", Taxonomy))},
		prop{"goal_feasible_in_6_weeks", &node{typ: "boolean",
			desc: "True if one 6-week sprint can reach the goal; false if it needs a pipeline of 6-week micro-goals."}},
		prop{"micro_goal_roadmap", array(fmt.Sprintf(
			"Empty or one entry when the goal is feasible in 6 weeks; otherwise 2 to %d ordered 6-week micro-goals, the first one active.", MaxMicroGoals),
			object("One 6-week micro-goal.",
				prop{"title", str(fmt.Sprintf("At most %d characters.", MaxTitleLen))},
				prop{"description", str("What this step achieves.")},
				prop{"pipeline_order", integer("1 for the first step, then 2, 3, … without gaps.")},
				prop{"target_weeks", integer(fmt.Sprintf("Weeks this step takes, 1 to %d.", SprintWeeks))},
			))},
		prop{"proposed_tasks", array(fmt.Sprintf(
			"1 to %d recurring tasks for the first sprint (none only if abandoned). Week 1 almost too easy, then ramp: express the ramp as several tasks with consecutive week ranges and growing durations.", MaxProposedTasks),
			object("One recurring task.",
				prop{"title", str(fmt.Sprintf("At most %d characters.", MaxTitleLen))},
				prop{"description", str("What to do in the session.")},
				prop{"scheduled_days", array("Days of the week the task happens, each once. May be empty only when recurrence_rule sets the days.",
					enum("Day: "+days+".", Weekdays))},
				prop{"suggested_time", str(`User-local 24-hour time "HH:MM", e.g. "07:00".`)},
				prop{"duration_minutes", integer(fmt.Sprintf("Session length, %d to %d.", MinTaskMinutes, MaxTaskMinutes))},
				prop{"recurrence_rule", str(`RRULE body without DTSTART or "RRULE:", e.g. "FREQ=WEEKLY;BYDAY=MO,WE,FR", or "" to repeat weekly on scheduled_days. FREQ DAILY, WEEKLY or MONTHLY; BYDAY must match scheduled_days; no BYHOUR/BYMINUTE (suggested_time sets the time).`)},
				prop{"week_range", array(fmt.Sprintf("[first, last] sprint weeks the task runs, 1 <= first <= last <= %d.", SprintWeeks),
					integer("Week number."))},
			))},
		prop{"conflicts_detected", array("Existing tasks the plan collides with; empty if none.",
			object("One conflict.",
				prop{"existing_task_title", str("Title of the existing task.")},
				prop{"scheduled_at", str(`When it is scheduled, RFC 3339, e.g. "2026-03-16T07:00:00Z".`)},
				prop{"message", str("What collides and what the plan does about it.")},
			))},
		prop{"plan_summary", str("A short, honest summary for the user. Mention the 6-week sprint and any later start if slots are short.")},
		prop{"approval_status", enum("approved only after the user explicitly approves this plan.", ApprovalStatuses)},
	)
}
