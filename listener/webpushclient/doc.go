// Package webpushclient is the listener's seam to Web Push: it sends the escalation ladder's
// first stage (the heads-up push before a task is due) with the real webpush-go client, and
// tells the dispatcher what an answer means for the subscription and the outbox row.
//
// Why a seam: webpush-go returns a raw *http.Response and leaves three decisions to every
// caller, each easy to get wrong. Classify makes them once: 404 and 410 mean the subscription is
// dead and must be deleted (Gone); 429, 5xx and network failures are transient (Retry); any other
// 4xx means our request is wrong (bad VAPID keys, a payload over 4 KB) and retrying cannot help
// (Failed). Send closes the body, returns non-2xx answers as a *StatusError carrying the push
// service's reason for the dispatch log, and marks errors from the round trip so that Classify
// can tell a network failure from a request that could not be built.
//
// Quirks of webpush-go v1.4.0 absorbed here:
//   - GenerateVAPIDKeys returns (private, public); ours returns (public, private).
//   - It prefixes "mailto:" to any subscriber that does not start with "https:", so a configured
//     "mailto:ops@example.com" would become "mailto:mailto:…", which push services reject; Send
//     strips the prefix first.
//   - The VAPID JWT always expires 12 hours ahead (Options.VapidExpiration is ignored), inside
//     RFC 8292's 24-hour limit.
//
// Push services are https; CAPool builds a client that also trusts a local CA, so `flux dev`
// can point the listener at listener/pushfake running in another process.
package webpushclient
