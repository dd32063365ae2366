// Package twilioclient builds the twilio-go REST client Flux uses for
// WhatsApp messages, voice calls and Verify (phone OTP).
//
// # The seam
//
// twilio-go hard-codes absolute URLs (https://api.twilio.com/2010-04-01/...,
// https://verify.twilio.com/v2/...) and has no base-URL option, but it sends
// every request through the *http.Client we hand it. New installs a
// RoundTripper there that rewrites the scheme and host of requests for
// api.twilio.com and verify.twilio.com to Config.APIBaseURL and
// Config.VerifyBaseURL (TWILIO_API_BASE_URL / TWILIO_VERIFY_BASE_URL). Tests
// and `flux dev` thereby drive the real client — its form encoding, auth,
// JSON decoding and error mapping — against listener/twiliofake.
//
// When any base URL is configured the client is in "redirect mode": a
// request whose host has no configured base URL is refused with
// ErrHostNotAllowed instead of being sent, so a test can never reach real
// Twilio, not even through a product whose base URL was forgotten. With
// both base URLs empty the client talks to real Twilio unchanged.
//
// # Errors and retries
//
// twilio-go reports HTTP errors as *client.TwilioRestError and transport
// failures as *url.Error. Classify maps both to the retry decision the
// escalation outbox needs; see its comment for the rules and their caveat
// about non-idempotent POSTs.
//
// twilio-go builds its requests with context.Background, so the only bound
// on a call is Config.Timeout (http.Client.Timeout); callers cannot cancel
// an in-flight request through a context.
package twilioclient
