package twiliofake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
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
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeResult(w, fail(http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found"))
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
		rec.Status, rec.SID = res.status, res.sid
		s.record(rec)
		writeResult(w, res)
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

func (s *Server) createMessage(r *http.Request, account string, form url.Values) result {
	switch {
	case form.Get("To") == "":
		return fail(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case form.Get("From") == "" && form.Get("MessagingServiceSid") == "":
		return fail(http.StatusBadRequest, 21603, "A 'From' phone number is required.")
	case form.Get("Body") == "" && form.Get("MediaUrl") == "" && form.Get("ContentSid") == "":
		return fail(http.StatusBadRequest, 21602, "Message body is required.")
	}
	sid := newSID("SM")
	now := time.Now().UTC().Format(time.RFC1123Z)
	base := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s", account, sid)
	return result{status: http.StatusCreated, sid: sid, body: map[string]any{
		"account_sid":           account,
		"api_version":           apiVersion,
		"body":                  form.Get("Body"),
		"date_created":          now,
		"date_sent":             nil,
		"date_updated":          now,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  form.Get("From"),
		"messaging_service_sid": nullIfEmpty(form.Get("MessagingServiceSid")),
		"num_media":             strconv.Itoa(len(form["MediaUrl"])),
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   sid,
		"status":                "queued",
		"subresource_uris":      map[string]string{"media": base + "/Media.json"},
		"to":                    form.Get("To"),
		"uri":                   base + ".json",
	}}
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
	sid := newSID("CA")
	now := time.Now().UTC().Format(time.RFC1123Z)
	base := fmt.Sprintf("/2010-04-01/Accounts/%s/Calls/%s", account, sid)
	return result{status: http.StatusCreated, sid: sid, body: map[string]any{
		"account_sid":      account,
		"annotation":       nil,
		"answered_by":      nil,
		"api_version":      apiVersion,
		"caller_name":      nil,
		"date_created":     now,
		"date_updated":     now,
		"direction":        "outbound-api",
		"duration":         nil,
		"end_time":         nil,
		"forwarded_from":   nil,
		"from":             form.Get("From"),
		"from_formatted":   form.Get("From"),
		"group_sid":        nil,
		"parent_call_sid":  nil,
		"phone_number_sid": nil,
		"price":            nil,
		"price_unit":       "USD",
		"queue_time":       "0",
		"sid":              sid,
		"start_time":       nil,
		"status":           "queued",
		"subresource_uris": map[string]string{
			"notifications": base + "/Notifications.json",
			"recordings":    base + "/Recordings.json",
			"events":        base + "/Events.json",
		},
		"to":           form.Get("To"),
		"to_formatted": form.Get("To"),
		"trunk_sid":    nil,
		"uri":          base + ".json",
	}}
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
	return result{status: http.StatusCreated, sid: vc.sid, body: map[string]any{
		"sid":          vc.sid,
		"service_sid":  vc.serviceSID,
		"account_sid":  vc.accountSID,
		"to":           to,
		"channel":      vc.channel,
		"status":       "pending",
		"valid":        false,
		"lookup":       map[string]any{"carrier": nil},
		"amount":       nil,
		"payee":        nil,
		"date_created": vc.created.Format(time.RFC3339),
		"date_updated": now.Format(time.RFC3339),
		"send_code_attempts": []map[string]any{{
			"attempt_sid": newSID("VL"),
			"channel":     vc.channel,
			"time":        now.Format(time.RFC3339),
		}},
		"url": fmt.Sprintf("https://verify.twilio.com/v2/Services/%s/Verifications/%s", vc.serviceSID, vc.sid),
	}}
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
	return result{status: http.StatusOK, sid: vc.sid, body: map[string]any{
		"sid":                      vc.sid,
		"service_sid":              vc.serviceSID,
		"account_sid":              vc.accountSID,
		"to":                       to,
		"channel":                  vc.channel,
		"status":                   status,
		"valid":                    approved,
		"amount":                   nil,
		"payee":                    nil,
		"date_created":             vc.created.Format(time.RFC3339),
		"date_updated":             time.Now().UTC().Format(time.RFC3339),
		"sna_attempts_error_codes": []any{},
	}}
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
