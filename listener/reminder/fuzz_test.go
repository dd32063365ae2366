package reminder_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/flux-companion/flux/listener/reminder"
)

// spellings are the replies each answer is documented to take (reminder_test.go), case and
// surrounding white space aside; written out here, not read from the package.
var spellings = map[reminder.Answer][]string{
	reminder.Done:       {"1", "done"},
	reminder.Reschedule: {"2", "reschedule"},
	reminder.Missed:     {"3", "missed", "miss"},
	reminder.Snooze:     {"4", "snooze"},
}

// White space a phone may put around a reply: ASCII, NBSP, NEL, em space, ideographic space.
var blanks = []string{" ", "\t", "\n", "\r\n", "\v", "\f", "\u00a0", "\u0085", "\u2003", "\u3000"}

// FuzzParse: reading a reply (typed, a button's payload or title, a key pressed) never panics;
// what is read is an answer the reply spells out (anything else is ("", false), never a guess);
// white space around a reply and the case of its ASCII letters change nothing, for answers and
// opt-outs alike; an opt-out is no answer; and everything the offers present (the hint's keys,
// the push actions, the template's buttons), so decorated, reads back as itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1", " YES ", "snooze", "STOP", "done", "Reschedule", "miss", "4\n", "Done ", "0", "", "stop it"} {
		f.Add(s, uint16(0), uint64(0))
	}
	f.Fuzz(func(t *testing.T, reply string, pad uint16, caseMask uint64) {
		// The high bit of each byte of pad puts a blank on that side; the rest chooses it.
		decorate := func(s string) string {
			var left, right string
			if pad&0x80 != 0 {
				left = blanks[int(pad&0x7f)%len(blanks)]
			}
			if pad&0x8000 != 0 {
				right = blanks[int(pad>>8&0x7f)%len(blanks)]
			}
			return left + flipCase(s, caseMask) + right
		}

		a, ok := reminder.Parse(reply)
		if !ok && a != "" {
			t.Fatalf("Parse(%q) = %q, false: an unknown reply must read as no answer", reply, a)
		}
		if ok && !spells(reply, a) {
			t.Fatalf("Parse(%q) = %q, which the reply does not spell", reply, a)
		}
		if b, okb := reminder.Parse(decorate(reply)); b != a || okb != ok {
			t.Fatalf("Parse(%q) = %q, %v but Parse(%q) = %q, %v", reply, a, ok, decorate(reply), b, okb)
		}

		stop := reminder.IsOptOut(reply)
		if stop && ok {
			t.Fatalf("%q is both an opt-out and the answer %q", reply, a)
		}
		if reminder.IsOptOut(decorate(reply)) != stop {
			t.Fatalf("IsOptOut(%q) = %v, IsOptOut(%q) differs", reply, stop, decorate(reply))
		}

		// A key pressed is one byte, read as the same reply typed.
		d, okd := reminder.ParseDigit(reply)
		if okd != (ok && len(reply) == 1) || (okd && d != a) || (!okd && d != "") {
			t.Fatalf("ParseDigit(%q) = %q, %v; Parse says %q, %v", reply, d, okd, a, ok)
		}

		o := reminder.Offer{Reschedule: caseMask&1 != 0, Snooze: caseMask&2 != 0}
		for _, act := range o.Actions() {
			if got, ok := reminder.Parse(decorate(act)); !ok || string(got) != act {
				t.Fatalf("push action %q, sent as %q, reads as %q, %v", act, decorate(act), got, ok)
			}
		}
		hint := strings.TrimSuffix(strings.TrimPrefix(o.ReplyHint(), "Reply "), ".")
		for _, part := range strings.Split(hint, ", ") {
			key, word, _ := strings.Cut(part, " ")
			if got, ok := reminder.Parse(decorate(key)); !ok || string(got) != word {
				t.Fatalf("hint %q: key %q reads as %q, %v", hint, decorate(key), got, ok)
			}
			if got, ok := reminder.ParseDigit(key); !ok || string(got) != word {
				t.Fatalf("hint %q: key %s pressed reads as %q, %v", hint, key, got, ok)
			}
		}
		for _, b := range reminder.TemplateButtons {
			for _, s := range []string{b.ID, b.Title} {
				if got, ok := reminder.Parse(decorate(s)); !ok || string(got) != b.ID {
					t.Fatalf("button %s: %q reads as %q, %v", b.ID, decorate(s), got, ok)
				}
			}
		}
	})
}

// spells reports whether reply, without surrounding white space and lower-cased, is one of a's
// spellings. Lower-cased rune by rune, not case-folded: "mİss" (a Turkish capital İ) is "miss",
// which EqualFold denies.
func spells(reply string, a reminder.Answer) bool {
	return slices.Contains(spellings[a], strings.Map(unicode.ToLower, strings.TrimSpace(reply)))
}

// flipCase swaps the case of the i-th ASCII letter of s when bit i%64 of mask is set.
func flipCase(s string, mask uint64) string {
	b := []byte(s)
	n := 0
	for i, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			if mask&(1<<(n%64)) != 0 {
				b[i] = c ^ 0x20
			}
			n++
		}
	}
	return string(b)
}
