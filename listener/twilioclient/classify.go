package twilioclient

import (
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"syscall"

	"github.com/twilio/twilio-go/client"
)

// twilio-go wraps (with github.com/pkg/errors) the JSON decoding failure of
// an HTTP error response whose body is not Twilio JSON — e.g. an HTML 502
// page from a load balancer — so the status survives only in the message.
// See doWithErr in twilio-go's client/client.go.
var undecodedStatus = regexp.MustCompile(`error decoding the response for an HTTP error code: (\d{3})`)

// Classify reports whether a failed Twilio call is worth retrying and the
// HTTP status Twilio answered with (0 when no response was received).
//
// Retryable:
//   - 429: Twilio's rate limit (error 20429); the request was rejected
//     before doing anything, so a later attempt can succeed.
//   - 5xx: Twilio or an edge proxy failed; Twilio documents these as
//     transient.
//   - timeouts and connection errors (refused, reset, EOF mid-response):
//     the network or Twilio is flaky, not the request.
//
// Permanent: every other 4xx (bad number, unverified recipient, bad
// credentials...). Sending the same request again gets the same answer, so
// the caller should record the failure and move on (the escalation ladder
// skips the stage). ErrHostNotAllowed and a nil error are permanent too.
//
// Caveat: Messages and Calls are non-idempotent POSTs. After a timeout or a
// connection reset the message may already have been sent, so a retry can
// deliver twice; callers that must not double-send should check
// notification_log before retrying rather than trust "retryable" alone.
func Classify(err error) (retryable bool, status int) {
	if err == nil || errors.Is(err, ErrHostNotAllowed) {
		return false, 0
	}

	var rest *client.TwilioRestError
	var restV1 *client.RestErrorV1
	switch {
	case errors.As(err, &rest):
		status = rest.Status
	case errors.As(err, &restV1):
		status = restV1.HttpStatusCode
	default:
		if m := undecodedStatus.FindStringSubmatch(err.Error()); m != nil {
			status, _ = strconv.Atoi(m[1])
		}
	}
	if status != 0 {
		return status == 429 || status >= 500, status
	}

	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &netErr) && netErr.Timeout(),
		errors.As(err, &opErr), // dial, read and write failures
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true, 0
	}
	return false, 0
}
