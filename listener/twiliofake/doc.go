// Package twiliofake is a fake Twilio for tests and `flux dev`: an HTTP
// server on a loopback address that speaks enough of Twilio's wire format
// for the real twilio-go client (built by listener/twilioclient with the
// fake's URL as both base URLs) to send WhatsApp messages, place calls and
// run Verify OTP flows against it.
//
// It implements:
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json
//	POST /2010-04-01/Accounts/{AccountSid}/Calls.json
//	POST /v2/Services/{ServiceSid}/Verifications
//	POST /v2/Services/{ServiceSid}/VerificationCheck
//
// with HTTP Basic auth (AccountSid:AuthToken; any account SID, the one auth
// token given to Start), Twilio-shaped JSON bodies and Twilio error codes.
// Every request is recorded (Requests, FailedRequests), failures can be
// injected (FailNext), and SendWebhook plays Twilio's side of inbound
// webhooks, signed with X-Twilio-Signature exactly as Twilio signs them.
//
// Nothing here talks to the internet: the server binds to loopback and
// SendWebhook refuses non-loopback targets.
package twiliofake
