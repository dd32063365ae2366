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

// twilio describes an API request to the fake Twilio.
func (t *traffic) twilio(r twiliofake.Request) {
	to := r.Form.Get("To")
	ok := r.Status >= 200 && r.Status < 300
	switch r.Kind {
	case twiliofake.KindMessage:
		what := "SMS"
		if n, found := strings.CutPrefix(to, "whatsapp:"); found {
			what, to = "WhatsApp", n
		}
		if !ok {
			t.printf("twilio  %s to %s refused (HTTP %d)", what, to, r.Status)
			return
		}
		t.printf("twilio  %s to %s: %s", what, to, oneLine(r.Body))
	case twiliofake.KindCall:
		if !ok {
			t.printf("twilio  call to %s refused (HTTP %d)", to, r.Status)
			return
		}
		t.printf("twilio  call to %s (%s)", to, r.SID)
	case twiliofake.KindVerification:
		if !ok {
			t.printf("twilio  Verify code for %s refused (HTTP %d)", to, r.Status)
			return
		}
		t.printf("twilio  Verify code %s sent to %s by %s", r.Code, to, r.Form.Get("Channel"))
	}
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
