package yesno

import "testing"

func TestYesNo(t *testing.T) {
	for _, c := range []struct {
		name         string
		read         func(string) (bool, bool)
		yes, no, not []string
	}{
		{"Answer", Answer,
			[]string{"yes", "Yes please!", "sure, why not", "ok", "that's right", "Correct.", "sounds good", "👍"},
			[]string{"no", "nope", "No thanks.", "don't", "never"},
			[]string{"", "maybe", "yes and no", "yes/no", "n/a"}},
		{"Reply", Reply,
			[]string{"yes", "Yes please", "ok.", "approve", "let’s do it", "sounds good to me", "yup", "👍"},
			[]string{"no", "Never mind", "cancel it", "nah thanks", "drop it"},
			[]string{"", "ok, but make it evenings", "no, make it evenings", "yes?", "please move it", "not at 5",
				"right after lunch", "I want to run a 5K", "definitely not", "yes but only on mondays please"}},
	} {
		for want, ins := range map[bool][]string{true: c.yes, false: c.no} {
			for _, in := range ins {
				if got, ok := c.read(in); !ok || got != want {
					t.Errorf("%s(%q) = %v %v, want %v", c.name, in, got, ok, want)
				}
			}
		}
		for _, in := range c.not {
			if got, ok := c.read(in); ok {
				t.Errorf("%s(%q) = %v, want neither", c.name, in, got)
			}
		}
	}
}
