package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/flux-companion/flux/listener/channel"
	"github.com/flux-companion/flux/listener/pushfake"
	"github.com/flux-companion/flux/listener/twiliofake"
)

// traffic prints what the fake providers received as one readable line each: what a person
// would have seen on their phone or in their browser. Lines may come from many goroutines.
type traffic struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *traffic) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format+"\n", args...)
}

// twilio describes an API request to the fake Twilio: what it sent, or that it was refused.
func (t *traffic) twilio(r twiliofake.Request) {
	to := r.Form.Get("To")
	var request, sent string
	switch r.Kind {
	case twiliofake.KindMessage:
		what := "SMS"
		if n, found := strings.CutPrefix(to, "whatsapp:"); found {
			what, to = "WhatsApp", n
		}
		request = what + " to " + to
		sent = request + ": " + oneLine(r.Body)
	case twiliofake.KindCall:
		request = "call to " + to
		sent = request + " (" + r.SID + ")"
	case twiliofake.KindVerification:
		request = "Verify code for " + to
		sent = fmt.Sprintf("Verify code %s sent to %s by %s", r.Code, to, r.Form.Get("Channel"))
	default:
		return
	}
	if r.Status < 200 || r.Status >= 300 {
		sent = fmt.Sprintf("%s refused (HTTP %d)", request, r.Status)
	}
	t.printf("twilio  %s", sent)
}

// push describes a message the fake push service accepted.
func (t *traffic) push(d pushfake.Delivery) {
	var p channel.PushPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil || p.Title == "" {
		t.printf("push    %s", oneLine(string(d.Payload)))
		return
	}
	t.printf("push    %q: %s (buttons: %s)", p.Title, p.Body, strings.Join(p.Actions, ", "))
}

// oneLine keeps a message on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
