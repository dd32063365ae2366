// Package pushfake is a Web Push service on 127.0.0.1 for tests and `flux dev`: it plays both the
// push service (FCM, Mozilla autopush) and the browser that owns the subscription.
//
// It checks what a real push service checks, so the production sender is exercised with its real
// client rather than a mock: the VAPID Authorization header (RFC 8292: the k= key, the ES256
// signature, aud, exp and sub), the Content-Encoding and TTL headers, and the RFC 8291 / RFC 8188
// aes128gcm body, which it decrypts with the subscription's private key exactly as the browser
// would. A test therefore sees the plaintext the user's device would see, and a sender that
// encrypts or signs wrongly fails here as it would in production.
//
// The failure modes a dispatcher must handle are injectable: Expire (410 Gone, the user revoked
// the permission), Delete (404, the service forgot the subscription) and FailNext (outages and
// rate limits: 5xx, 429 with Retry-After).
//
// Endpoints are https because the database only accepts https subscription endpoints; Client
// and CertPEM give the means to trust the server's certificate in-process or from another
// process (a CA file).
package pushfake
