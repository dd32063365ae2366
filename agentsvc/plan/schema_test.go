package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
)

// exampleAnswer is what a planner model answers under the schema.
const exampleAnswer = `{
  "goal_title": "Learn conversational Spanish",
  "goal_description": "Hold a 10-minute conversation on a trip in summer.",
  "tags": ["Learning", "Travel"],
  "goal_feasible_in_6_weeks": false,
  "micro_goal_roadmap": [
    {"title": "Everyday basics", "description": "Greetings, numbers, ordering food.", "pipeline_order": 1, "target_weeks": 6},
    {"title": "Small talk", "description": "Talk about yourself for 5 minutes.", "pipeline_order": 2, "target_weeks": 6}
  ],
  "proposed_tasks": [
    {"title": "Spanish: 15 min", "description": "App lesson.", "scheduled_days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
     "suggested_time": "07:30", "duration_minutes": 15, "recurrence_rule": "FREQ=DAILY", "week_range": [1, 2]},
    {"title": "Spanish: 25 min", "description": "Lesson plus flashcards.", "scheduled_days": ["Mon", "Wed", "Fri"],
     "suggested_time": "07:30", "duration_minutes": 25, "recurrence_rule": "", "week_range": [3, 6]},
    {"title": "Conversation exchange", "description": "Online tandem partner.", "scheduled_days": [],
     "suggested_time": "19:00", "duration_minutes": 30, "recurrence_rule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", "week_range": [3, 6]}
  ],
  "conflicts_detected": [
    {"existing_task_title": "Gym", "scheduled_at": "2026-03-18T06:00:00Z", "message": "Moved the Wednesday lesson after the gym."}
  ],
  "plan_summary": "Daily short lessons first, then longer sessions and a conversation every other Saturday.",
  "approval_status": "pending"
}`

func decodeSchema(t *testing.T) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s
}

func TestSchemaIsStrict(t *testing.T) {
	t.Parallel()
	allowed := []string{"type", "description", "enum", "properties", "required", "additionalProperties", "items"}
	var walk func(path string, n map[string]any)
	walk = func(path string, n map[string]any) {
		for k := range n {
			if !slices.Contains(allowed, k) {
				t.Errorf("%s: keyword %q outside the strict-mode subset", path, k)
			}
		}
		switch n["type"] {
		case "object":
			props := n["properties"].(map[string]any)
			var names []string
			for name, p := range props {
				names = append(names, name)
				walk(path+"."+name, p.(map[string]any))
			}
			var req []string
			for _, r := range n["required"].([]any) {
				req = append(req, r.(string))
			}
			sort.Strings(names)
			sort.Strings(req)
			if !slices.Equal(names, req) {
				t.Errorf("%s: required %v, properties %v", path, req, names)
			}
			if n["additionalProperties"] != false {
				t.Errorf("%s: additionalProperties is not false", path)
			}
		case "array":
			walk(path+"[]", n["items"].(map[string]any))
		case "string", "integer", "boolean":
		default:
			t.Errorf("%s: type %v", path, n["type"])
		}
	}
	walk("$", decodeSchema(t))
}

func TestSchemaEnums(t *testing.T) {
	t.Parallel()
	s := decodeSchema(t)
	props := s["properties"].(map[string]any)
	enumAt := func(n any, path ...string) []string {
		for _, p := range path {
			n = n.(map[string]any)[p]
		}
		var out []string
		for _, v := range n.(map[string]any)["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if got := enumAt(props, "tags", "items"); !slices.Equal(got, Taxonomy) {
		t.Errorf("tags enum %v", got)
	}
	if got := enumAt(props, "approval_status"); !slices.Equal(got, ApprovalStatuses) {
		t.Errorf("approval_status enum %v", got)
	}
	if got := enumAt(props, "proposed_tasks", "items", "properties", "scheduled_days", "items"); !slices.Equal(got, Weekdays) {
		t.Errorf("scheduled_days enum %v", got)
	}
}

// TestSchemaMatchesStruct keeps Schema and Plan in sync both ways: the
// example conforms to the schema and decodes into Plan with no unknown field,
// and Plan encodes back into JSON that conforms to the schema (a struct field
// missing from the schema would be an unknown property).
func TestSchemaMatchesStruct(t *testing.T) {
	t.Parallel()
	s := decodeSchema(t)
	conform(t, "example", s, exampleAnswer)

	dec := json.NewDecoder(bytes.NewReader([]byte(exampleAnswer)))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode example: %v", err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("example does not validate: %v", err)
	}
	if _, err := Materialize(p, mustDate(t, "2026-03-16", "Europe/Madrid"), mustLoc(t, "Europe/Madrid")); err != nil {
		t.Fatalf("example does not materialize: %v", err)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	conform(t, "encoded Plan", s, string(out))

	tmpl, err := json.Marshal(Template("Fitness", "Run a 5K", TemplateProfile{}))
	if err != nil {
		t.Fatal(err)
	}
	conform(t, "template", s, string(tmpl))
}

func TestSchemaIsACopy(t *testing.T) {
	t.Parallel()
	a := Schema()
	a[0] = 'x'
	if b := Schema(); b[0] != '{' {
		t.Fatal("Schema returned shared memory")
	}
}

// conform fails t unless doc matches schema s: every property present, no
// others, and the JSON types right.
func conform(t *testing.T, name string, s map[string]any, doc string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, e := range shapeErrors("$", s, v) {
		t.Errorf("%s: %s", name, e)
	}
}

func shapeErrors(path string, s map[string]any, v any) []string {
	bad := func(want string) []string { return []string{fmt.Sprintf("%s: want %s, got %T", path, want, v)} }
	switch s["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("object")
		}
		props := s["properties"].(map[string]any)
		var errs []string
		for name, ps := range props {
			pv, ok := obj[name]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s.%s: missing", path, name))
				continue
			}
			errs = append(errs, shapeErrors(path+"."+name, ps.(map[string]any), pv)...)
		}
		for name := range obj {
			if _, ok := props[name]; !ok {
				errs = append(errs, fmt.Sprintf("%s.%s: not in the schema", path, name))
			}
		}
		return errs
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return bad("array")
		}
		var errs []string
		for i, item := range arr {
			errs = append(errs, shapeErrors(fmt.Sprintf("%s[%d]", path, i), s["items"].(map[string]any), item)...)
		}
		return errs
	case "string":
		str, ok := v.(string)
		if !ok {
			return bad("string")
		}
		if e, ok := s["enum"].([]any); ok && !slices.Contains(e, any(str)) {
			return []string{fmt.Sprintf("%s: %q not in enum", path, str)}
		}
	case "integer":
		if n, ok := v.(json.Number); !ok {
			return bad("integer")
		} else if _, err := n.Int64(); err != nil {
			return bad("integer")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("boolean")
		}
	}
	return nil
}
