package twiliofake

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const apiVersion = "2010-04-01"

// apiError is Twilio's JSON error body, the shape twilio-go decodes into
// client.TwilioRestError.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// result is what an endpoint answers: status, JSON body and, on success,
// the SID of the resource it created or checked.
type result struct {
	status int
	body   any
	sid    string
	// msgBody is Request.Body for a created message.
	msgBody string
	// code is Request.Code for a verification.
	code string
	// after runs once the answer is on the wire (a message's or call's
	// lifecycle: the API answer goes out before any status callback).
	after func()
}

func fail(status, code int, msg string) result {
	return result{status: status, body: apiError{
		Code:     code,
		Message:  msg,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   status,
	}}
}

// endpoint handles an authenticated, non-failed request; account is the
// account SID from Basic auth, form the parsed body.
type endpoint func(r *http.Request, account string, form url.Values) result

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /2010-04-01/Accounts/{AccountSid}/Messages.json", s.api(KindMessage, s.createMessage))
	mux.Handle("POST /2010-04-01/Accounts/{AccountSid}/Calls.json", s.api(KindCall, s.createCall))
	mux.Handle("POST /v2/Services/{ServiceSid}/Verifications", s.api(KindVerification, s.createVerification))
	mux.Handle("POST /v2/Services/{ServiceSid}/VerificationCheck", s.api(KindVerificationCheck, s.checkVerification))
	// A wildcard is a whole path segment, so {Resource} is "{Sid}.json".
	mux.Handle("GET /2010-04-01/Accounts/{AccountSid}/Messages/{Resource}", s.api(KindMessageFetch, fetch(s, s.messages)))
	mux.Handle("GET /2010-04-01/Accounts/{AccountSid}/Calls/{Resource}", s.api(KindCallFetch, fetch(s, s.calls)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeResult(w, notFound(r))
	})
	return mux
}

// api wraps an endpoint with what every Twilio API request goes through:
// body parsing, injected failures, Basic auth and recording.
func (s *Server) api(kind string, h endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(s.latency.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			case <-s.ls.Closing():
				return
			}
		}
		rec := Request{Kind: kind, Path: r.URL.Path, Time: time.Now()}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			rec.Status = http.StatusBadRequest
			s.record(rec)
			writeResult(w, fail(http.StatusBadRequest, 20001, "Invalid request body: "+err.Error()))
			return
		}
		rec.Form = cloneValues(r.PostForm)

		// Injected failures come first: in real life a 503 or a hang happens
		// in front of the API, whatever the request.
		if f, ok := s.nextFailure(); ok {
			if f == Timeout {
				s.record(rec) // Status 0: no answer
				s.hang(r)
				return
			}
			rec.Status = int(f)
			s.record(rec)
			if f == http.StatusTooManyRequests || f == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
			}
			code := 20000 + int(f) // 20429, 20500, 20503: Twilio's codes for these
			writeResult(w, fail(int(f), code, http.StatusText(int(f))))
			return
		}

		account, ok := s.authenticate(r)
		if !ok {
			rec.Status = http.StatusUnauthorized
			s.record(rec)
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
			writeResult(w, fail(http.StatusUnauthorized, 20003, "Authenticate"))
			return
		}

		res := h(r, account, r.PostForm)
		rec.Status, rec.SID, rec.Body, rec.Code = res.status, res.sid, res.msgBody, res.code
		s.record(rec)
		writeResult(w, res)
		if res.after != nil {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			res.after()
		}
	})
}

// hang blocks until the client gives up or the server closes. On close it
// aborts the connection so the client sees a network error, not a 200.
func (s *Server) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
		return
	case <-s.ls.Closing():
	}
	panic(http.ErrAbortHandler)
}

// authenticate checks Basic auth and returns the account SID. For the 2010
// API the account in the path must be the authenticated one.
func (s *Server) authenticate(r *http.Request) (string, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" || pass != s.authToken {
		return "", false
	}
	if acct := r.PathValue("AccountSid"); acct != "" && acct != user {
		return "", false
	}
	return user, true
}

func writeResult(w http.ResponseWriter, res result) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.status)
	_ = json.NewEncoder(w).Encode(res.body) // the client hung up; nothing to do
}

// createMessage accepts a message the way Twilio does: synchronous checks
// answer 400, everything else is 201 queued, and what happens next (sent,
// delivered, read, or failed for being outside the WhatsApp window or for
// a template's parameter count, or the recipient's Outcome) plays out
// asynchronously in the resource and its status callbacks.
func (s *Server) createMessage(r *http.Request, account string, form url.Values) result {
	to, contentSid, rawVars := form.Get("To"), form.Get("ContentSid"), form.Get("ContentVariables")
	switch {
	case to == "":
		return fail(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case form.Get("From") == "" && form.Get("MessagingServiceSid") == "":
		return fail(http.StatusBadRequest, 21603, "A 'From' phone number is required.")
	case form.Get("Body") == "" && form.Get("MediaUrl") == "" && contentSid == "":
		return fail(http.StatusBadRequest, 21602, "Message body is required.")
	case rawVars != "" && contentSid == "":
		return fail(http.StatusBadRequest, CodeContentSIDRequired, "ContentSid Required")
	}
	if res, ok := checkStatusCallback(form.Get("StatusCallback")); !ok {
		return res
	}

	now := s.now()
	whatsApp := strings.HasPrefix(to, "whatsapp:")
	body, failCode := form.Get("Body"), 0
	if contentSid != "" {
		// A template send, whatever the window: that is what templates are for.
		t, ok := s.lookupTemplate(contentSid)
		if !contentSID.MatchString(contentSid) || !ok {
			return fail(http.StatusBadRequest, CodeInvalidContentSID, "The ContentSid is Invalid")
		}
		vars, ok := parseVariables(rawVars)
		if !ok {
			return fail(http.StatusBadRequest, CodeInvalidContentVariables, "The ContentVariables Parameter is invalid")
		}
		body = t.render(vars)
		if len(vars) != t.Params {
			failCode = CodeParamCountMismatch
		}
	} else if whatsApp && !s.windowOpen(to, now) {
		failCode = CodeOutsideWindow
	}

	m := &message{
		sid: newSID("SM"), account: account, from: form.Get("From"), to: to, body: body,
		contentSID: contentSid, messagingService: form.Get("MessagingServiceSid"),
		numMedia: len(form["MediaUrl"]), status: MessageQueued, created: now, updated: now,
		statusCallback: form.Get("StatusCallback"),
	}
	o := s.outcome(to)
	plan := messagePlan(whatsApp, failCode, o)
	s.mu.Lock()
	s.messages[m.sid] = m
	js := m.json()
	s.mu.Unlock()
	return result{status: http.StatusCreated, sid: m.sid, msgBody: body, body: js, after: func() {
		s.spawn(func(ctx context.Context) { s.runMessage(ctx, m.sid, plan, o) })
	}}
}

// checkStatusCallback accepts an empty StatusCallback (no callbacks) or an
// http(s) URL on a loopback host, the only place the fake posts to.
func checkStatusCallback(cb string) (result, bool) {
	if cb == "" || checkHookURL(cb) == nil {
		return result{}, true
	}
	return fail(http.StatusBadRequest, CodeInvalidStatusCallback, "Invalid 'StatusCallback'"), false
}

func (s *Server) createCall(r *http.Request, account string, form url.Values) result {
	switch {
	case form.Get("To") == "":
		return fail(http.StatusBadRequest, 21201, "No 'To' number is specified")
	case form.Get("From") == "":
		return fail(http.StatusBadRequest, 21213, "No 'From' number is specified")
	case form.Get("Url") == "" && form.Get("Twiml") == "" && form.Get("ApplicationSid") == "":
		return fail(http.StatusBadRequest, 21205, "Url, Twiml or ApplicationSid is required")
	}
	if res, ok := checkStatusCallback(form.Get("StatusCallback")); !ok {
		return res
	}
	method := http.MethodPost
	if strings.EqualFold(form.Get("StatusCallbackMethod"), http.MethodGet) {
		method = http.MethodGet
	}
	now := s.now()
	c := &call{
		sid: newSID("CA"), account: account, from: form.Get("From"), to: form.Get("To"),
		status: CallQueued, created: now, updated: now,
		statusCallback: form.Get("StatusCallback"), method: method,
		events: parseEvents(form["StatusCallbackEvent"]),
	}
	o := s.outcome(c.to)
	plan := callPlan(o)
	s.mu.Lock()
	s.calls[c.sid] = c
	js := c.json()
	s.mu.Unlock()
	return result{status: http.StatusCreated, sid: c.sid, body: js, after: func() {
		s.spawn(func(ctx context.Context) { s.runCall(ctx, c.sid, plan, o) })
	}}
}

// fetch answers GET …/{Sid}.json with the resource of byID (messages or
// calls) that belongs to the account, as Twilio shows it.
func fetch[R interface {
	owner() string
	json() map[string]any
}](s *Server, byID map[string]R) endpoint {
	return func(r *http.Request, account string, _ url.Values) result {
		sid, ok := strings.CutSuffix(r.PathValue("Resource"), ".json")
		s.mu.Lock()
		defer s.mu.Unlock()
		if res, found := byID[sid]; ok && found && res.owner() == account {
			return result{status: http.StatusOK, sid: sid, body: res.json()}
		}
		return notFound(r)
	}
}

func notFound(r *http.Request) result {
	return fail(http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
}

var verifyChannels = map[string]bool{"sms": true, "call": true, "email": true, "whatsapp": true, "sna": true, "auto": true}

func (s *Server) createVerification(r *http.Request, account string, form url.Values) result {
	to, channel := form.Get("To"), form.Get("Channel")
	switch {
	case to == "":
		return fail(http.StatusBadRequest, 60200, "Invalid parameter `To`: ")
	case !verifyChannels[channel]:
		return fail(http.StatusBadRequest, 60200, "Invalid parameter `Channel`: "+channel)
	}
	service := r.PathValue("ServiceSid")

	s.mu.Lock()
	v, ok := s.verifications[to]
	// Like Twilio, a new request for a number with a pending verification
	// resends the same code under the same SID.
	if !ok || v.serviceSID != service {
		v = &verification{
			sid: newSID("VE"), serviceSID: service, accountSID: account,
			code: newCode(), created: time.Now().UTC(),
		}
		s.verifications[to] = v
	}
	v.channel = channel
	vc := *v
	s.mu.Unlock()

	now := time.Now().UTC()
	body := vc.json(to, "pending", now)
	body["lookup"] = map[string]any{"carrier": nil}
	body["send_code_attempts"] = []map[string]any{{
		"attempt_sid": newSID("VL"), "channel": vc.channel, "time": now.Format(time.RFC3339),
	}}
	body["url"] = fmt.Sprintf("https://verify.twilio.com/v2/Services/%s/Verifications/%s", vc.serviceSID, vc.sid)
	return result{status: http.StatusCreated, sid: vc.sid, code: vc.code, body: body}
}

// json is the verification of number to as Verify's API returns it.
func (v verification) json(to, status string, updated time.Time) map[string]any {
	return map[string]any{
		"sid":          v.sid,
		"service_sid":  v.serviceSID,
		"account_sid":  v.accountSID,
		"to":           to,
		"channel":      v.channel,
		"status":       status,
		"valid":        status == "approved",
		"amount":       nil,
		"payee":        nil,
		"date_created": v.created.Format(time.RFC3339),
		"date_updated": updated.Format(time.RFC3339),
	}
}

func (s *Server) checkVerification(r *http.Request, account string, form url.Values) result {
	service := r.PathValue("ServiceSid")
	to, vsid, code := form.Get("To"), form.Get("VerificationSid"), form.Get("Code")
	switch {
	case to == "" && vsid == "":
		return fail(http.StatusBadRequest, 60200, "Either a 'To' number or 'VerificationSid' SID must be specified")
	case code == "":
		return fail(http.StatusBadRequest, 60200, "Invalid parameter: Code")
	}

	s.mu.Lock()
	var v *verification
	for num, cand := range s.verifications {
		if cand.serviceSID == service && (num == to || cand.sid == vsid) {
			v, to = cand, num
			break
		}
	}
	if v == nil {
		s.mu.Unlock()
		return fail(http.StatusNotFound, 20404, "The requested resource /Services/"+service+"/VerificationCheck was not found")
	}
	approved := code == v.code
	if approved {
		delete(s.verifications, to) // an approved verification is no longer pending
	}
	vc := *v
	s.mu.Unlock()

	status := "pending"
	if approved {
		status = "approved"
	}
	body := vc.json(to, status, time.Now().UTC())
	body["sna_attempts_error_codes"] = []any{}
	return result{status: http.StatusOK, sid: vc.sid, body: body}
}

// newCode returns a 6-digit OTP, Verify's default length.
func newCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000)) // crypto/rand never fails
	return fmt.Sprintf("%06d", n)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
