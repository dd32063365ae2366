// Package twiliofake is a fake Twilio for tests and `flux dev`: an HTTP
// server on a loopback address that speaks enough of Twilio's wire format
// for the real twilio-go client (built by listener/twilioclient with the
// fake's URL as both base URLs) to send WhatsApp messages, place calls and
// run Verify OTP flows against it. It refuses what Twilio refuses and sends
// what Twilio sends.
//
// It implements:
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json
//	POST /2010-04-01/Accounts/{AccountSid}/Calls.json
//	GET  /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json
//	POST /v2/Services/{ServiceSid}/Verifications
//	POST /v2/Services/{ServiceSid}/VerificationCheck
//
// with HTTP Basic auth (AccountSid:AuthToken; any account SID, the one auth
// token given to Start), Twilio-shaped JSON bodies and Twilio error codes
// (an unknown resource is 404 / 20404). Every request is recorded
// (Requests, FailedRequests), failures can be injected (FailNext), and
// SendWebhook plays Twilio's side of inbound webhooks, signed with
// X-Twilio-Signature exactly as Twilio signs them.
//
// # Messages
//
// A message is either free-form (Body, MediaUrl) or a Content API template
// (ContentSid + ContentVariables; the template wins over a Body). Refused
// at once with 400: a missing To (21604), From (21603) or content (21602);
// ContentVariables without ContentSid (21654); a ContentSid not of the form
// HX + 32 hex digits or not registered with AddTemplate (21655);
// ContentVariables that are not a JSON object mapping "1".."n" to non-empty
// strings (21656); a StatusCallback that is not http(s) on a loopback host
// (21609). Anything else is accepted (201, status queued) and then, like on
// Twilio, plays out asynchronously:
//
//   - A free-form WhatsApp message (To "whatsapp:…") is delivered only
//     within the recipient's 24-hour customer-service window; outside it,
//     it fails with 63016. The window opens for 24 hours with each user
//     message delivered through SendWebhook (From "whatsapp:<number>"), or
//     explicitly with OpenWindow; CloseWindow closes it. The clock is
//     time.Now unless SetClock injects another.
//   - A template goes through whatever the window; its body is the
//     template with the variables filled in (in the resource, the create
//     answer and Request.Body). A variable count that differs from the
//     template's placeholders fails with 63028.
//   - Otherwise the recipient's Outcome (SetOutcome) decides: by default
//     queued → sent → delivered → read (SMS stops at delivered); or failed
//     or undelivered with an error code.
//
// # Calls
//
// A call is accepted (201, queued) and then goes initiated → ringing →
// in-progress → completed, or ends no-answer or busy after ringing, or
// failed after initiated, as the recipient's Outcome says.
//
// # Status callbacks
//
// When a message or call carries StatusCallback, the fake posts Twilio's
// status callbacks to it after the API answer, one per step in order, a
// few milliseconds apart, signed like SendWebhook: for messages every
// status (MessageSid, MessageStatus, ErrorCode on failed and undelivered,
// ChannelPrefix on WhatsApp…); for calls the StatusCallbackEvent events
// asked for (default completed only), POST or GET per StatusCallbackMethod,
// with SequenceNumber, Timestamp, CallbackSource and CallDuration on the
// final one. Like Twilio's defaults, a callback that gets no answer
// (connection refused, timeout) is retried once with the same
// I-Twilio-Idempotency-Token; an HTTP error answer is not retried. Every
// attempt is recorded (Callbacks, WaitCallbacks).
// Outcome can also post every callback twice or hold them back, and
// SendStatusCallback with MessageStatusParams and CallStatusParams posts
// any callback, so tests can replay, reorder and delay them. The resources
// (Message and the GET endpoints) follow the same steps with or without a
// StatusCallback.
//
// Nothing here talks to the internet: the server binds to loopback, and
// SendWebhook, SendStatusCallback and status callbacks refuse non-loopback
// targets. Close stops the server and every pending callback.
package twiliofake
