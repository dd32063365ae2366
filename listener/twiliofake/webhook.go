package twiliofake

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// AccountSID is the account SID the webhook param helpers put in
// AccountSid. Configure the app under test with it, or overwrite the param.
const AccountSID = "AC0123456789abcdef0123456789abcdef"

// Signature computes X-Twilio-Signature for a POST of params to fullURL the
// way Twilio does: the full URL (scheme, host, port, path and query as
// requested), then for each param sorted by name the name immediately
// followed by its value (a repeated name contributes each value, sorted),
// HMAC-SHA1 with the auth token as key, base64.
func Signature(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		for _, v := range slices.Sorted(slices.Values(params[k])) {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SendWebhook POSTs params form-encoded to rawURL like Twilio calling the
// app, signed with the server's auth token. rawURL must be http(s) on a
// loopback host. The caller closes the response body.
//
// Params of a user's WhatsApp message (From "whatsapp:<number>", no
// MessageStatus), e.g. WhatsAppReplyParams, open that number's
// customer-service window for WindowDuration before the POST, as the
// message reaching Twilio does.
func (s *Server) SendWebhook(ctx context.Context, rawURL string, params url.Values) (*http.Response, error) {
	if err := checkHookURL(rawURL); err != nil {
		return nil, err
	}
	if s.closing() {
		return nil, errors.New("twiliofake: server closed")
	}
	if from := params.Get("From"); strings.HasPrefix(from, "whatsapp:") && params.Get("MessageStatus") == "" {
		s.OpenWindow(from, s.now().Add(WindowDuration))
	}
	return s.post(ctx, rawURL, http.MethodPost, params, newSID(""))
}

// WhatsAppReplyParams returns the params of Twilio's incoming-message
// webhook for a WhatsApp reply from the user (from) to the app's sender
// (to). A missing "whatsapp:" prefix is added to both.
func WhatsAppReplyParams(from, to, body string) url.Values {
	from, to = whatsApp(from), whatsApp(to)
	sid := newSID("SM")
	return url.Values{
		"MessageSid":       {sid},
		"SmsMessageSid":    {sid},
		"SmsSid":           {sid},
		"AccountSid":       {AccountSID},
		"From":             {from},
		"To":               {to},
		"Body":             {body},
		"NumMedia":         {"0"},
		"NumSegments":      {"1"},
		"ReferralNumMedia": {"0"},
		"MessageType":      {"text"},
		"SmsStatus":        {"received"},
		"WaId":             {strings.TrimPrefix(strings.TrimPrefix(from, "whatsapp:"), "+")},
		"ApiVersion":       {apiVersion},
	}
}

// VoiceGatherParams returns the params Twilio posts to a <Gather> action
// URL when the callee of an outbound call (to) presses digits.
func VoiceGatherParams(callSid, from, to, digits string) url.Values {
	return url.Values{
		"CallSid":       {callSid},
		"AccountSid":    {AccountSID},
		"From":          {from},
		"Caller":        {from},
		"To":            {to},
		"Called":        {to},
		"Digits":        {digits},
		"FinishedOnKey": {""}, // numDigits reached, no terminating key
		"CallStatus":    {"in-progress"},
		"Direction":     {"outbound-api"},
		"ApiVersion":    {apiVersion},
		"msg":           {"Gather End"},
	}
}

func whatsApp(n string) string {
	if strings.HasPrefix(n, "whatsapp:") {
		return n
	}
	return "whatsapp:" + n
}
