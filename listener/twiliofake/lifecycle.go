package twiliofake

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// message is the fake's state of a Message resource.
type message struct {
	sid, account, from, to, body string
	contentSID, messagingService string
	numMedia                     int
	status                       MessageStatus
	errorCode                    int
	created, updated, sent       time.Time
	statusCallback               string
}

// MessageResource is a snapshot of a message the fake accepted.
type MessageResource struct {
	SID, AccountSID, From, To string
	// Body is the text as sent: Body, or the template with its variables
	// filled in.
	Body           string
	ContentSID     string // the template sent, if any
	Status         MessageStatus
	ErrorCode      int // 0 unless Status is failed or undelivered
	ErrorMessage   string
	StatusCallback string
	Created        time.Time
	Updated        time.Time
}

// Message returns the current state of the message with the given SID.
func (s *Server) Message(sid string) (MessageResource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[sid]
	if !ok {
		return MessageResource{}, false
	}
	return MessageResource{
		SID: m.sid, AccountSID: m.account, From: m.from, To: m.to, Body: m.body,
		ContentSID: m.contentSID, Status: m.status, ErrorCode: m.errorCode,
		ErrorMessage: errorMessages[m.errorCode], StatusCallback: m.statusCallback,
		Created: m.created, Updated: m.updated,
	}, true
}

func (m *message) owner() string { return m.account }

// json is the resource as Twilio's API returns it; call with s.mu held.
func (m *message) json() map[string]any {
	base := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s", m.account, m.sid)
	var errCode, errMsg, sent any
	if m.errorCode != 0 {
		errCode = m.errorCode
		if msg, ok := errorMessages[m.errorCode]; ok {
			errMsg = msg
		}
	}
	if !m.sent.IsZero() {
		sent = m.sent.UTC().Format(time.RFC1123Z)
	}
	return map[string]any{
		"account_sid":           m.account,
		"api_version":           apiVersion,
		"body":                  m.body,
		"date_created":          m.created.UTC().Format(time.RFC1123Z),
		"date_sent":             sent,
		"date_updated":          m.updated.UTC().Format(time.RFC1123Z),
		"direction":             "outbound-api",
		"error_code":            errCode,
		"error_message":         errMsg,
		"from":                  m.from,
		"messaging_service_sid": nullIfEmpty(m.messagingService),
		"num_media":             strconv.Itoa(m.numMedia),
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.sid,
		"status":                string(m.status),
		"subresource_uris":      map[string]string{"media": base + "/Media.json"},
		"to":                    m.to,
		"uri":                   base + ".json",
	}
}

type msgStep struct {
	status MessageStatus
	code   int
}

// messagePlan is the statuses a message goes through after being queued.
// failCode is a failure decided at creation (63016, 63028), which wins over
// the recipient's outcome.
func messagePlan(whatsApp bool, failCode int, o Outcome) []msgStep {
	queued, sent := msgStep{status: MessageQueued}, msgStep{status: MessageSent}
	code := o.ErrorCode
	if code == 0 {
		code = CodeUnknownError
	}
	switch {
	case failCode != 0:
		return []msgStep{queued, {MessageFailed, failCode}}
	case o.Message == MessageFailed:
		return []msgStep{queued, {MessageFailed, code}}
	case o.Message == MessageUndelivered:
		return []msgStep{queued, sent, {MessageUndelivered, code}}
	case o.Message == MessageSent:
		return []msgStep{queued, sent}
	case o.Message == MessageDelivered || !whatsApp:
		return []msgStep{queued, sent, {status: MessageDelivered}}
	default:
		return []msgStep{queued, sent, {status: MessageDelivered}, {status: MessageRead}}
	}
}

// walk takes a resource through the n steps of its lifecycle, a pause before
// each: step (run with s.mu held, at the fake's time) moves the resource on
// and returns the status callback to post for it (cb "": none).
func (s *Server) walk(ctx context.Context, n int, o Outcome, step func(i int, now time.Time) (cb, method string, params url.Values)) {
	for i := range n {
		if !sleep(ctx, callbackDelay) {
			return
		}
		now := s.now() // an injected clock runs outside s.mu
		s.mu.Lock()
		cb, method, params := step(i, now)
		s.mu.Unlock()
		if cb != "" {
			s.deliver(ctx, cb, method, params, o)
		}
	}
}

// runMessage walks a message through its plan, posting a status callback per
// step when the message has a StatusCallback.
func (s *Server) runMessage(ctx context.Context, sid string, plan []msgStep, o Outcome) {
	s.walk(ctx, len(plan), o, func(i int, now time.Time) (string, string, url.Values) {
		st, m := plan[i], s.messages[sid]
		m.status, m.errorCode, m.updated = st.status, st.code, now
		if st.status == MessageSent {
			m.sent = m.updated
		}
		return m.statusCallback, http.MethodPost, messageStatusParams(m.account, m.sid, m.from, m.to, st.status, st.code)
	})
}

// call is the fake's state of a Call resource.
type call struct {
	sid, account, from, to string
	status                 CallStatus
	duration               int // seconds, once ended
	ended                  bool
	created, updated       time.Time
	start, end             time.Time
	statusCallback, method string
	events                 map[string]bool
}

func (c *call) owner() string { return c.account }

func (c *call) json() map[string]any {
	base := fmt.Sprintf("/2010-04-01/Accounts/%s/Calls/%s", c.account, c.sid)
	var start, end, duration any
	if !c.start.IsZero() {
		start = c.start.UTC().Format(time.RFC1123Z)
	}
	if c.ended {
		end = c.end.UTC().Format(time.RFC1123Z)
		duration = strconv.Itoa(c.duration)
	}
	return map[string]any{
		"account_sid":      c.account,
		"annotation":       nil,
		"answered_by":      nil,
		"api_version":      apiVersion,
		"caller_name":      nil,
		"date_created":     c.created.UTC().Format(time.RFC1123Z),
		"date_updated":     c.updated.UTC().Format(time.RFC1123Z),
		"direction":        "outbound-api",
		"duration":         duration,
		"end_time":         end,
		"forwarded_from":   nil,
		"from":             c.from,
		"from_formatted":   c.from,
		"group_sid":        nil,
		"parent_call_sid":  nil,
		"phone_number_sid": nil,
		"price":            nil,
		"price_unit":       "USD",
		"queue_time":       "0",
		"sid":              c.sid,
		"start_time":       start,
		"status":           string(c.status),
		"subresource_uris": map[string]string{
			"notifications": base + "/Notifications.json",
			"recordings":    base + "/Recordings.json",
			"events":        base + "/Events.json",
		},
		"to":           c.to,
		"to_formatted": c.to,
		"trunk_sid":    nil,
		"uri":          base + ".json",
	}
}

// callEvents are the StatusCallbackEvent values, in the order they happen.
var callEvents = []string{"initiated", "ringing", "answered", "completed"}

// parseEvents reads StatusCallbackEvent: repeated values (as twilio-go
// sends them) or one space- or comma-separated value. Unknown values are
// ignored. None means Twilio's default, completed only.
func parseEvents(values []string) map[string]bool {
	events := map[string]bool{}
	for _, v := range values {
		for _, e := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool { return r == ' ' || r == ',' }) {
			for _, known := range callEvents {
				if e == known {
					events[e] = true
				}
			}
		}
	}
	if len(events) == 0 {
		events["completed"] = true
	}
	return events
}

type callStep struct {
	event  string
	status CallStatus
}

func callPlan(o Outcome) []callStep {
	initiated, ringing := callStep{"initiated", CallInitiated}, callStep{"ringing", CallRinging}
	switch o.Call {
	case CallNoAnswer, CallBusy:
		return []callStep{initiated, ringing, {"completed", o.Call}}
	case CallFailed:
		return []callStep{initiated, {"completed", CallFailed}}
	default:
		return []callStep{initiated, ringing, {"answered", CallInProgress}, {"completed", CallCompleted}}
	}
}

// runCall walks a call through its plan, posting a status callback for each
// step whose event was asked for.
func (s *Server) runCall(ctx context.Context, sid string, plan []callStep, o Outcome) {
	duration := o.CallDuration
	if duration <= 0 {
		duration = 10
	}
	seq := 0 // SequenceNumber of the next callback posted
	s.walk(ctx, len(plan), o, func(i int, now time.Time) (string, string, url.Values) {
		st, c := plan[i], s.calls[sid]
		c.updated = now
		switch st.status {
		case CallInitiated: // a callback event only; the resource stays queued
		case CallInProgress:
			c.status, c.start = st.status, now
		case CallRinging:
			c.status = st.status
		default: // final
			c.status, c.end, c.ended = st.status, now, true
			if st.status == CallCompleted {
				c.duration = duration
				c.start = now.Add(-time.Duration(duration) * time.Second)
			}
		}
		if c.statusCallback == "" || !c.events[st.event] {
			return "", "", nil
		}
		params := callStatusParams(c.account, c.sid, c.from, c.to, st.status, seq, c.duration, now)
		seq++
		return c.statusCallback, c.method, params
	})
}

// MessageStatusParams returns the params of Twilio's message status
// callback for message sid from → to reaching status; errorCode is sent
// (as ErrorCode) only with failed and undelivered. Post them with
// SendStatusCallback to replay, reorder or duplicate callbacks.
func MessageStatusParams(sid, from, to string, status MessageStatus, errorCode int) url.Values {
	return messageStatusParams(AccountSID, sid, from, to, status, errorCode)
}

func messageStatusParams(account, sid, from, to string, status MessageStatus, errorCode int) url.Values {
	v := url.Values{
		"MessageSid":    {sid},
		"SmsSid":        {sid},
		"MessageStatus": {string(status)},
		"SmsStatus":     {string(status)},
		"AccountSid":    {account},
		"From":          {from},
		"To":            {to},
		"ApiVersion":    {apiVersion},
	}
	if strings.HasPrefix(to, "whatsapp:") {
		v.Set("ChannelPrefix", "whatsapp")
	}
	if status == MessageFailed || status == MessageUndelivered {
		v.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	return v
}

// CallStatusParams returns the params of Twilio's call status callback for
// outbound call sid from → to reaching status, the seq-th callback of the
// call (SequenceNumber, from 0). A final status (completed, busy,
// no-answer, failed) carries CallDuration (seconds).
func CallStatusParams(sid, from, to string, status CallStatus, seq, duration int) url.Values {
	return callStatusParams(AccountSID, sid, from, to, status, seq, duration, time.Now())
}

func callStatusParams(account, sid, from, to string, status CallStatus, seq, duration int, ts time.Time) url.Values {
	v := url.Values{
		"CallSid":        {sid},
		"AccountSid":     {account},
		"From":           {from},
		"Caller":         {from},
		"To":             {to},
		"Called":         {to},
		"CallStatus":     {string(status)},
		"Direction":      {"outbound-api"},
		"ApiVersion":     {apiVersion},
		"CallbackSource": {"call-progress-events"},
		"SequenceNumber": {strconv.Itoa(seq)},
		"Timestamp":      {ts.UTC().Format(time.RFC1123Z)},
	}
	switch status {
	case CallCompleted, CallBusy, CallNoAnswer, CallFailed:
		v.Set("CallDuration", strconv.Itoa(duration))
	}
	return v
}
