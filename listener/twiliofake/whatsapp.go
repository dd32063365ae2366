package twiliofake

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Twilio error codes the fake answers with or puts on failed messages, with
// the wording of Twilio's error dictionary (https://www.twilio.com/docs/api/errors/<code>).
const (
	// CodeInvalidStatusCallback (400): StatusCallback is not a URL the fake
	// can reach, i.e. not http(s) on a loopback host. Twilio: "Invalid
	// 'StatusCallback'".
	CodeInvalidStatusCallback = 21609
	// CodeContentSIDRequired (400): ContentVariables without ContentSid.
	CodeContentSIDRequired = 21654
	// CodeInvalidContentSID (400): ContentSid is not ^HX[0-9a-fA-F]{32}$ or
	// not a registered template (AddTemplate).
	CodeInvalidContentSID = 21655
	// CodeInvalidContentVariables (400): ContentVariables is not a JSON
	// object mapping "1".."n" to non-empty strings.
	CodeInvalidContentVariables = 21656
	// CodeOutsideWindow: a free-form WhatsApp message outside the 24-hour
	// customer-service window; the message is accepted, then fails.
	CodeOutsideWindow = 63016
	// CodeInvalidRecipient: WhatsApp's "Invalid message recipient", a
	// typical undelivered code (SetOutcome).
	CodeInvalidRecipient = 63024
	// CodeParamCountMismatch: a template send whose variable count differs
	// from the template's placeholders; accepted, then fails.
	CodeParamCountMismatch = 63028
	// CodeUnknownError: Twilio's catch-all delivery error, the default of
	// SetOutcome's failed and undelivered outcomes.
	CodeUnknownError = 30008
)

// errorMessages are the error_message texts the fake puts on failed
// messages: Twilio's error dictionary titles.
var errorMessages = map[int]string{
	CodeOutsideWindow:      "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.",
	CodeParamCountMismatch: "Number of parameters provided does not match the expected number of parameters",
	CodeInvalidRecipient:   "Invalid message recipient",
	CodeUnknownError:       "Unknown error",
	30003:                  "Unreachable destination handset",
	30005:                  "Unknown destination handset",
	30006:                  "Landline or unreachable carrier",
	30007:                  "Message filtered",
}

// WindowDuration is how long WhatsApp's customer-service window stays open
// after the user's last message.
const WindowDuration = 24 * time.Hour

// callbackDelay is the pause before each step of a message or call
// lifecycle (queued → sent → …), each posting a status callback, and before
// the retry of a callback that got no answer.
const callbackDelay = 5 * time.Millisecond

// SetClock sets the fake's clock, used for the WhatsApp window and the
// resources' timestamps (not for the delays between callbacks, which are
// real). nil restores time.Now.
func (s *Server) SetClock(now func() time.Time) { s.clock.Store(&now) }

func (s *Server) now() time.Time {
	if f := s.clock.Load(); f != nil && *f != nil {
		return (*f)()
	}
	return time.Now()
}

// OpenWindow sets when number's WhatsApp customer-service window closes:
// free-form messages to whatsapp:<number> are delivered until then. A time
// in the past closes it. number may carry the "whatsapp:" prefix.
// SendWebhook of a user's WhatsApp message opens it for WindowDuration.
func (s *Server) OpenWindow(number string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.windows[bareNumber(number)] = until
}

// CloseWindow closes number's WhatsApp customer-service window.
func (s *Server) CloseWindow(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.windows, bareNumber(number))
}

// WindowCloses returns when number's WhatsApp customer-service window
// closes (the zero time if it was never opened).
func (s *Server) WindowCloses(number string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.windows[bareNumber(number)]
}

func (s *Server) windowOpen(number string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Before(s.windows[bareNumber(number)])
}

// bareNumber is the recipient key: the number without "whatsapp:".
func bareNumber(n string) string { return strings.TrimPrefix(n, "whatsapp:") }

// Template is a Content API template the fake knows.
type Template struct {
	SID  string // HX + 32 hex digits
	Body string // text with placeholders {{1}}..{{n}}
	// Buttons are quick-reply button titles (static, not rendered).
	Buttons []string
	// Params is n, the number of placeholders in Body.
	Params int
}

var (
	contentSID  = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)
	placeholder = regexp.MustCompile(`\{\{(\d+)\}\}`)
)

// AddTemplate registers a Content API template (replacing one with the same
// SID) so messages may send it with ContentSid and ContentVariables. body
// holds placeholders {{1}}..{{n}}, numbered without gaps as WhatsApp
// requires. It panics on a SID not of Twilio's shape or gapped placeholders.
func (s *Server) AddTemplate(sid, body string, buttons ...string) {
	if !contentSID.MatchString(sid) {
		panic(fmt.Sprintf("twiliofake: AddTemplate: content SID %q does not match ^HX[0-9a-fA-F]{32}$", sid))
	}
	seen := map[int]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.Atoi(m[1])
		seen[n] = true
	}
	for i := 1; i <= len(seen); i++ {
		if !seen[i] {
			panic(fmt.Sprintf("twiliofake: AddTemplate: placeholders of %q are not {{1}}..{{%d}}", body, len(seen)))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templates[sid] = Template{SID: sid, Body: body, Buttons: slices.Clone(buttons), Params: len(seen)}
}

func (s *Server) lookupTemplate(sid string) (Template, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.templates[sid]
	return t, ok
}

// parseVariables checks ContentVariables the way Twilio does before
// accepting a message (error 21656): a JSON object whose keys are "1".."n"
// and whose values are non-empty strings without newlines, tabs or more
// than four consecutive spaces. An absent parameter is no variables.
func parseVariables(raw string) (map[string]string, bool) {
	vars := map[string]string{}
	if raw == "" {
		return vars, true
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m == nil {
		return nil, false
	}
	for k, v := range m {
		str, ok := v.(string)
		if !ok || str == "" || strings.ContainsAny(str, "\n\t") || strings.Contains(str, "     ") {
			return nil, false
		}
		vars[k] = str
	}
	for i := 1; i <= len(vars); i++ {
		if _, ok := vars[strconv.Itoa(i)]; !ok {
			return nil, false
		}
	}
	return vars, true
}

// render fills t's placeholders with vars, leaving missing ones as they are.
func (t Template) render(vars map[string]string) string {
	return placeholder.ReplaceAllStringFunc(t.Body, func(p string) string {
		if v, ok := vars[p[2:len(p)-2]]; ok {
			return v
		}
		return p
	})
}

// MessageStatus is a message's status, as in the resource and its status
// callbacks.
type MessageStatus string

// Message statuses the fake uses.
const (
	MessageQueued      MessageStatus = "queued"
	MessageSent        MessageStatus = "sent"
	MessageDelivered   MessageStatus = "delivered"
	MessageRead        MessageStatus = "read"
	MessageFailed      MessageStatus = "failed"
	MessageUndelivered MessageStatus = "undelivered"
)

// CallStatus is a call's status, as in its status callbacks (the resource
// stays queued at CallInitiated, which is a callback event only).
type CallStatus string

// Call statuses the fake uses.
const (
	CallQueued     CallStatus = "queued"
	CallInitiated  CallStatus = "initiated"
	CallRinging    CallStatus = "ringing"
	CallInProgress CallStatus = "in-progress"
	CallCompleted  CallStatus = "completed"
	CallBusy       CallStatus = "busy"
	CallNoAnswer   CallStatus = "no-answer"
	CallFailed     CallStatus = "failed"
)

// Outcome is what happens to the messages and calls sent to a number
// (SetOutcome). The zero Outcome is the default: messages are delivered
// (and read, on WhatsApp), calls are answered and completed.
type Outcome struct {
	// Message is a message's final status: "" (MessageRead on WhatsApp,
	// MessageDelivered otherwise), MessageRead, MessageDelivered,
	// MessageSent (never confirmed), MessageFailed (queued → failed) or
	// MessageUndelivered (queued → sent → undelivered). The WhatsApp
	// window and template checks come first: their failures win.
	Message MessageStatus
	// ErrorCode goes with MessageFailed and MessageUndelivered; 0 means
	// CodeUnknownError (30008).
	ErrorCode int
	// Call is a call's final status: "" or CallCompleted (initiated →
	// ringing → in-progress → completed), CallNoAnswer or CallBusy
	// (initiated → ringing → final), CallFailed (initiated → failed).
	Call CallStatus
	// CallDuration is a completed call's duration in seconds; 0 means 10.
	CallDuration int

	// DuplicateCallbacks posts every status callback twice, the second
	// time with the same I-Twilio-Idempotency-Token, as a Twilio retry.
	DuplicateCallbacks bool
	// HoldCallbacks posts no status callbacks: they are recorded (Held)
	// with their params so a test can post them itself with
	// SendStatusCallback, in any order or delayed. Resources still advance.
	HoldCallbacks bool
}

// SetOutcome sets what happens to messages and calls sent to number from now
// on (the "whatsapp:" prefix is ignored: the same number's WhatsApp
// messages, SMS and calls share it). Outcome{} restores the default. It
// panics on a Message or Call status that cannot be final.
func (s *Server) SetOutcome(number string, o Outcome) {
	switch o.Message {
	case "", MessageRead, MessageDelivered, MessageSent, MessageFailed, MessageUndelivered:
	default:
		panic(fmt.Sprintf("twiliofake: SetOutcome: invalid final message status %q", o.Message))
	}
	switch o.Call {
	case "", CallCompleted, CallNoAnswer, CallBusy, CallFailed:
	default:
		panic(fmt.Sprintf("twiliofake: SetOutcome: invalid final call status %q", o.Call))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[bareNumber(number)] = o
}

func (s *Server) outcome(number string) Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outcomes[bareNumber(number)]
}
