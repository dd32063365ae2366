package pushfake

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// maxVAPIDLifetime is RFC 8292's limit on how far ahead exp may be.
const maxVAPIDLifetime = 24 * time.Hour

// checkVAPID verifies an RFC 8292 Authorization header ("vapid t=<JWT>, k=<key>") and returns
// 0 when it is acceptable. RFC 8292 §4.2: absent authentication may be answered 401, invalid
// authentication 403; real services do the same, and senders must not retry either.
func (s *Server) checkVAPID(header string, now time.Time) (status int, reason string) {
	scheme, params, _ := strings.Cut(header, " ")
	if header == "" || !strings.EqualFold(scheme, "vapid") {
		return http.StatusUnauthorized, "no vapid Authorization"
	}
	var t, k string
	for p := range strings.SplitSeq(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(name) {
		case "t":
			t = value
		case "k":
			k = value
		}
	}
	if t == "" || k == "" {
		return http.StatusForbidden, "vapid Authorization needs both t= and k="
	}
	if key, err := decodeBase64URL(k); err != nil || !bytes.Equal(key, s.vapidK) {
		return http.StatusForbidden, "k= is not the application server key of this service"
	}
	c, err := verifyES256(t, s.vapid)
	if err != nil {
		return http.StatusForbidden, "JWT: " + err.Error()
	}
	if origin := s.URL(); c.Aud != origin {
		return http.StatusForbidden, fmt.Sprintf("JWT aud %q, want the push service origin %q", c.Aud, origin)
	}
	exp := time.Unix(int64(c.Exp), 0)
	if !exp.After(now) {
		return http.StatusForbidden, "JWT expired (or has no exp)"
	}
	if exp.Sub(now) > maxVAPIDLifetime {
		return http.StatusForbidden, "JWT exp more than 24h ahead"
	}
	if err := checkSub(c.Sub); err != nil {
		return http.StatusForbidden, "JWT sub: " + err.Error()
	}
	return 0, ""
}

type claims struct {
	Aud string  `json:"aud"`
	Exp float64 `json:"exp"` // a NumericDate may carry a fraction
	Sub string  `json:"sub"`
}

// verifyES256 checks a compact JWS signed with ES256 by pub (RFC 7518 §3.4: the signature is
// r||s, 32 bytes each, not ASN.1) and returns its claims.
func verifyES256(token string, pub *ecdsa.PublicKey) (claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return claims{}, errors.New("not a compact JWS")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return claims{}, fmt.Errorf("header: %w", err)
	}
	if header.Alg != "ES256" {
		return claims{}, fmt.Errorf("alg %q, want ES256", header.Alg)
	}
	sig, err := decodeBase64URL(parts[2])
	if err != nil || len(sig) != 64 {
		return claims{}, errors.New("signature is not 64 bytes of base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, ss) {
		return claims{}, errors.New("signature does not verify with the VAPID public key")
	}
	var c claims
	if err := decodeSegment(parts[1], &c); err != nil {
		return claims{}, fmt.Errorf("claims: %w", err)
	}
	return c, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// checkSub requires the contact RFC 8292 §2.1 asks for: a mailto: address or an https URL.
// Parsing the address catches a doubled "mailto:mailto:" as well as an empty one.
func checkSub(sub string) error {
	if addr, ok := strings.CutPrefix(sub, "mailto:"); ok {
		if _, err := mail.ParseAddress(addr); err != nil {
			return fmt.Errorf("%q is not a mailto: address: %w", sub, err)
		}
		return nil
	}
	if u, err := url.Parse(sub); err == nil && u.Scheme == "https" && u.Host != "" {
		return nil
	}
	return fmt.Errorf("%q is neither mailto: nor https:", sub)
}
