package webhook

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/twilio/twilio-go/client"

	"github.com/flux-companion/flux/listener/twiliofake"
)

// The edge's pure functions, fuzzed without a database: the seeds are in testdata/fuzz/ (real
// Twilio bodies, as twiliofake posts them) and `make fuzz` runs each target for a while.

const fuzzToken = "fuzztoken0123456789abcdef0123456"

// FuzzSignature: verification never panics; Twilio's signature (twiliofake's, an implementation
// of its documented algorithm independent of twilio-go) over the same URL and params verifies;
// another token, one value changed, a param dropped or added, or one byte of the URL's path or
// query changed does not.
func FuzzSignature(f *testing.F) {
	f.Add("https://flux.example.com/webhooks/twilio/whatsapp", "Body=1&From=whatsapp%3A%2B4915100000077&MessageSid=SM0123456789abcdef0123456789abcdef", "", uint16(0), byte(1))
	f.Add("http://127.0.0.1:8080/webhooks/twilio/voice?task=00000000-0000-4000-8000-000000000000", "CallSid=CA0123456789abcdef0123456789abcdef&Digits=1", "c29tZXRoaW5n", uint16(7), byte(0x20))
	f.Fuzz(func(t *testing.T, fullURL, body, sig string, at uint16, flip byte) {
		v := client.NewRequestValidator(fuzzToken)
		form, err := url.ParseQuery(body)
		if err != nil {
			form = url.Values{"Body": {body}}
		}
		_ = signed(&v, fullURL, form, sig)

		// Each name with its first value: what signed checks and the handlers read.
		first := url.Values{}
		for k := range form {
			first.Set(k, form.Get(k))
		}
		good := twiliofake.Signature(fuzzToken, fullURL, first)
		if !signed(&v, fullURL, form, good) {
			t.Fatalf("Twilio's signature of %q over %q is refused", fullURL, first.Encode())
		}
		if signed(&v, fullURL, form, twiliofake.Signature("x"+fuzzToken, fullURL, first)) {
			t.Fatal("a signature with another token verifies")
		}
		if flip == 0 {
			flip = 1
		}
		if keys := slices.Sorted(maps.Keys(first)); len(keys) > 0 {
			k := keys[int(at)%len(keys)]
			changed := maps.Clone(first)
			changed.Set(k, mutate(first.Get(k), at, flip))
			if signed(&v, fullURL, changed, good) {
				t.Fatalf("%s changed from %q to %q, and the signature still verifies", k, first.Get(k), changed.Get(k))
			}
			// A param of no name and no value adds nothing to what is signed.
			if k+first.Get(k) != "" {
				dropped := maps.Clone(first)
				dropped.Del(k)
				if signed(&v, fullURL, dropped, good) {
					t.Fatalf("%s dropped, and the signature still verifies", k)
				}
			}
		}
		name := "Extra"
		for first.Has(name) {
			name += "_"
		}
		added := maps.Clone(first)
		added.Set(name, "")
		if signed(&v, fullURL, added, good) {
			t.Fatalf("%s added, and the signature still verifies", name)
		}
		// Only the request's part of the URL: the handler puts the configured origin before it,
		// and twilio-go takes an origin with or without its default port (Twilio signs either
		// way) and its scheme in any case (the fuzzer signed "a:0" and verified "A:0").
		if p := requestPart(fullURL); p < len(fullURL) {
			other := fullURL[:p+1] + mutate(fullURL[p+1:], at, flip)
			if signed(&v, other, form, good) {
				t.Fatalf("signed for %q, verifies for %q", fullURL, other)
			}
		}
	})
}

// requestPart is where the path of an absolute URL begins (its "/"), len(u) if it has none.
func requestPart(u string) int {
	i := strings.Index(u, "://")
	if i < 0 {
		return len(u)
	}
	j := strings.IndexByte(u[i+3:], '/')
	if j < 0 {
		return len(u)
	}
	return i + 3 + j
}

// mutate changes one byte of s (or, of nothing, makes one).
func mutate(s string, at uint16, flip byte) string {
	if s == "" {
		return string([]byte{flip})
	}
	b := []byte(s)
	b[int(at)%len(b)] ^= flip
	return string(b)
}

// Twilio's documented statuses, and the database's delivery_status (migration
// 20261205000400_reminders): what record_delivery takes.
var (
	twilioMessageStatuses = []string{"queued", "sending", "sent", "failed", "delivered", "undelivered", "receiving",
		"received", "accepted", "scheduled", "read", "partially_delivered", "canceled"}
	twilioCallStatuses = []string{"queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "canceled", "failed"}
	dbDeliveryStatuses = []string{"queued", "initiated", "ringing", "sent", "in-progress", "delivered", "read",
		"completed", "undelivered", "failed", "busy", "no-answer", "canceled"}
)

// FuzzForm: parsing and the handlers' field checks never panic; a compressed body or another
// content type is refused; whatever is accepted is what SQL can take (valid UTF-8, no NUL), SIDs
// and numbers of Twilio's shapes (checked here by hand, not by the handlers' regexps), statuses
// the database knows; and the form re-encoded parses to the same values and the same verdicts.
func FuzzForm(f *testing.F) {
	f.Add([]byte("Body=1&From=whatsapp%3A%2B4915100000077&MessageSid=SM0123456789abcdef0123456789abcdef"), fiber.MIMEApplicationForm, "", "")
	f.Add([]byte("CallSid=CA0123456789abcdef0123456789abcdef&Digits=4"), fiber.MIMEApplicationForm, "", "00000000-0000-4000-8000-000000000000")
	f.Add([]byte("ErrorCode=63016&MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=failed"), "application/x-www-form-urlencoded; charset=utf-8", "identity", "")
	f.Fuzz(func(t *testing.T, body []byte, contentType, contentEncoding, task string) {
		form, err := parseForm(contentType, contentEncoding, body)
		if err != nil {
			return
		}
		if ce := strings.TrimSpace(contentEncoding); ce != "" && !strings.EqualFold(ce, "identity") {
			t.Fatalf("a body with Content-Encoding %q is read", contentEncoding)
		}
		if !strings.HasPrefix(strings.ToLower(contentType), "application/x-www-form-urlencoded") {
			t.Fatalf("a body of type %q is read as a form", contentType)
		}
		checkFields(t, form, task)

		again, err := parseForm(fiber.MIMEApplicationForm, "", []byte(form.Encode()))
		if err != nil || !reflect.DeepEqual(form, again) {
			t.Fatalf("re-encoded %q parses to %v (%v), not %v", form.Encode(), again, err, form)
		}
		if a, b := fields(form, task), fields(again, task); !reflect.DeepEqual(a, b) {
			t.Fatalf("re-encoded, the verdicts change: %+v, then %+v", a, b)
		}
	})
}

type verdicts struct {
	from, messageSID string
	whatsApp         bool
	callSID          string
	voice            bool
	delivery         delivery
	status           bool
}

func fields(form url.Values, task string) verdicts {
	var v verdicts
	v.from, v.messageSID, v.whatsApp = whatsAppSender(form)
	v.callSID, v.voice = voiceCall(task, form)
	d, err := deliveryStatus(form)
	v.delivery, v.status = d, err == nil
	return v
}

func checkFields(t *testing.T, form url.Values, task string) {
	t.Helper()
	v := fields(form, task)
	if v.whatsApp {
		if v.from != strings.TrimPrefix(form.Get("From"), "whatsapp:") || v.messageSID != form.Get("MessageSid") {
			t.Fatalf("WhatsApp: %q %q is not what was posted: %v", v.from, v.messageSID, form)
		}
		storable(t, v.from, v.messageSID)
		if !isE164(v.from) || !isSID(v.messageSID, "SM", "MM") {
			t.Fatalf("WhatsApp: accepted From %q, MessageSid %q", v.from, v.messageSID)
		}
	}
	if v.voice {
		storable(t, task, v.callSID)
		if v.callSID != form.Get("CallSid") || !isSID(v.callSID, "CA") || !isUUID(task) {
			t.Fatalf("voice: accepted task %q, CallSid %q", task, v.callSID)
		}
	}
	if !v.status {
		return
	}
	d := v.delivery
	storable(t, d.sid, d.status)
	switch d.channel {
	case "whatsapp":
		if d.sid != form.Get("MessageSid") || d.status != form.Get("MessageStatus") ||
			!isSID(d.sid, "SM", "MM") || !slices.Contains(twilioMessageStatuses, d.status) {
			t.Fatalf("message status: accepted %+v from %v", d, form)
		}
	case "call":
		if form.Get("MessageSid") != "" || d.sid != form.Get("CallSid") || d.status != form.Get("CallStatus") ||
			!isSID(d.sid, "CA") || !slices.Contains(twilioCallStatuses, d.status) {
			t.Fatalf("call status: accepted %+v from %v", d, form)
		}
	default:
		t.Fatalf("status callback of channel %q", d.channel)
	}
	// What the handler records must be a delivery_status, or record_delivery fails (500).
	if !transient[d.status] && !slices.Contains(dbDeliveryStatuses, d.status) {
		t.Fatalf("status %q would be recorded and is no delivery_status", d.status)
	}
	if d.code < 0 || d.code > 99999 || (form.Get("ErrorCode") == "" && d.code != 0) {
		t.Fatalf("ErrorCode %q read as %d", form.Get("ErrorCode"), d.code)
	}
}

// storable: PostgreSQL's text takes neither invalid UTF-8 nor NUL.
func storable(t *testing.T, ss ...string) {
	t.Helper()
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("accepted %q, which PostgreSQL cannot store", s)
		}
	}
}

// isSID: one of the prefixes, then 32 lowercase hex digits (Twilio SIDs are 34 characters).
func isSID(s string, prefixes ...string) bool {
	if len(s) != 34 || !slices.Contains(prefixes, s[:2]) {
		return false
	}
	return isHex(s[2:])
}

// isE164: "+", then 7 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range []byte(s[1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isUUID: the canonical lowercase form, as PostgreSQL prints a uuid.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i : i+1]) {
				return false
			}
		}
	}
	return true
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// A compressed body is refused before anything inflates it: fiber's c.Body() inflated every
// coding Content-Encoding named, unauthenticated, so a few hundred bytes of nested gzip took
// gigabytes. (Here a small one: the answer says whether it was read.)
func TestCompressedBodyIsRefusedUninflated(t *testing.T) {
	t.Parallel()
	body := []byte("Body=1&From=whatsapp%3A%2B4915100000077&MessageSid=SM0123456789abcdef0123456789abcdef")
	for range 2 {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write(body)
		_ = w.Close()
		body = b.Bytes()
	}
	app := New(Config{AuthToken: fuzzToken, PublicBaseURL: "https://flux.example.com", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	req := httptest.NewRequest("POST", "/webhooks/twilio/whatsapp", bytes.NewReader(body))
	req.Header.Set("Content-Type", fiber.MIMEApplicationForm)
	req.Header.Set("Content-Encoding", "gzip, gzip")
	req.Header.Set("X-Twilio-Signature", "c29tZXRoaW5n")
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != fiber.StatusBadRequest {
		t.Fatalf("status %d, want 400 (a 403 means the body was inflated and its signature checked)", resp.StatusCode)
	}
}
