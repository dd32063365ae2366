package reminder_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/flux-companion/flux/listener/reminder"
)

func TestParseReadsDigitsWordsAndButtons(t *testing.T) {
	t.Parallel()
	cases := map[string]reminder.Answer{
		"1": reminder.Done, " Done ": reminder.Done, "DONE": reminder.Done,
		"2": reminder.Reschedule, "Reschedule": reminder.Reschedule,
		"3": reminder.Missed, "missed": reminder.Missed, "Miss": reminder.Missed,
		"4": reminder.Snooze, "snooze": reminder.Snooze, "Snooze\n": reminder.Snooze,
	}
	for in, want := range cases {
		if got, ok := reminder.Parse(in); !ok || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "5", "0", "yes", "done!", "1 2", "stop", "12"} {
		if got, ok := reminder.Parse(in); ok {
			t.Errorf("Parse(%q) = %q, want no answer", in, got)
		}
	}
	if _, ok := reminder.ParseDigit("done"); ok {
		t.Error("ParseDigit took a word: a call only gathers one key")
	}
	if got, ok := reminder.ParseDigit("4"); !ok || got != reminder.Snooze {
		t.Errorf("ParseDigit(4) = %q, %v", got, ok)
	}
}

func TestIsOptOut(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"STOP", "stop", " Stop ", "UNSUBSCRIBE", "unsubscribe"} {
		if !reminder.IsOptOut(in) {
			t.Errorf("IsOptOut(%q) = false", in)
		}
	}
	for _, in := range []string{"", "3", "stop it", "don't stop", "STOPP"} {
		if reminder.IsOptOut(in) {
			t.Errorf("IsOptOut(%q) = true", in)
		}
	}
}

// Every text offers exactly what the reminder offers, and each key it names reads back as
// the answer it names (the help text once offered "2 reschedule" to a reminder that did not).
func TestOffersAgreeWithParsing(t *testing.T) {
	t.Parallel()
	for _, o := range []reminder.Offer{{}, {Reschedule: true}, {Snooze: true}, {Reschedule: true, Snooze: true}} {
		hint := o.ReplyHint()
		for _, a := range []reminder.Answer{reminder.Done, reminder.Missed, reminder.Reschedule, reminder.Snooze} {
			offered := a == reminder.Done || a == reminder.Missed || (a == reminder.Reschedule && o.Reschedule) || (a == reminder.Snooze && o.Snooze)
			if strings.Contains(hint, string(a)) != offered {
				t.Errorf("offer %+v: hint %q and %s offered=%v disagree", o, hint, a, offered)
			}
			if strings.Contains(strings.Join(o.Actions(), ","), string(a)) != offered {
				t.Errorf("offer %+v: push actions %v and %s offered=%v disagree", o, o.Actions(), a, offered)
			}
		}
		for _, part := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(hint, "Reply "), "."), ", ") {
			key, word, _ := strings.Cut(part, " ")
			if a, ok := reminder.Parse(key); !ok || string(a) != word {
				t.Errorf("hint %q: key %s reads back as %q, not %s", hint, key, a, word)
			}
		}
		twiml := reminder.VoiceTwiML(`Call <mom> & "dad"`, "https://flux.example.com/webhooks/twilio/voice?task=x&y=1", o)
		if err := xml.Unmarshal([]byte(twiml), new(struct{})); err != nil {
			t.Errorf("offer %+v: the voice script is not XML: %v\n%s", o, err, twiml)
		}
		if strings.Contains(twiml, "4 to snooze") != o.Snooze || strings.Contains(twiml, "2 to reschedule") != o.Reschedule {
			t.Errorf("offer %+v: the voice script offers otherwise: %s", o, twiml)
		}
	}
	if s := reminder.SnoozeLimit(reminder.Offer{Reschedule: false, Snooze: true}); strings.Contains(s, "snooze,") || strings.Contains(s, "reschedule") {
		t.Errorf("the snooze-limit reply offers what it must not: %q", s)
	}
}

func TestTemplateHasTwoVariablesAndAButtonPerAnswer(t *testing.T) {
	t.Parallel()
	vars := reminder.TemplateVariables("Call mom", "17:00")
	for k := range vars {
		if !strings.Contains(reminder.Template, "{{"+k+"}}") {
			t.Errorf("variable %s is not in the template %q", k, reminder.Template)
		}
	}
	if strings.Count(reminder.Template, "{{") != len(vars) {
		t.Errorf("the template %q has other placeholders than %v", reminder.Template, vars)
	}
	for _, b := range reminder.TemplateButtons {
		if a, ok := reminder.Parse(b.ID); !ok || string(a) != b.ID {
			t.Errorf("button %s: its payload is not an answer", b.ID)
		}
		if a, ok := reminder.Parse(b.Title); !ok || string(a) != b.ID {
			t.Errorf("button %s: its title %q does not read as its answer", b.ID, b.Title)
		}
	}
}

// WhatsApp refuses a template variable with a newline, a tab, a run of spaces or nothing at all.
func TestTemplateVariablesAreWhatWhatsAppAccepts(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Call mom":               "Call mom",
		"Call\nmom\tand     dad": "Call mom and dad",
		"  \u00a0 ":              "(untitled)",
		"":                       "(untitled)",
	} {
		if got := reminder.TemplateVariables(in, "17:00")["1"]; got != want {
			t.Errorf("TemplateVariables(%q) = %q, want %q", in, got, want)
		}
	}
}
