package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// What the listener's user API (listener/userapi) writes: rate limits, phone verification and
// Web Push subscriptions.

var (
	qRateLimit           = query("rate_limit")
	qVerificationSent    = query("verification_sent")
	qVerificationPending = query("verification_pending")
	qConfirmPhone        = query("confirm_phone")
	qSubscribePush       = query("subscribe_push")
	qUnsubscribePush     = query("unsubscribe_push")
)

// RateLimit counts one hit of action for user, at most limit per window (flux.rate_limit). Past
// the limit the error is the rate limit's (pgerr.IsRateLimited).
func (s *Store) RateLimit(ctx context.Context, user uuid.UUID, action string, limit int, window time.Duration) error {
	return exec(ctx, s.db, "rate limit "+action, qRateLimit, user, action, limit, window.String())
}

// VerificationSent records the number a verification code was just sent to.
func (s *Store) VerificationSent(ctx context.Context, user uuid.UUID, phone string) error {
	return exec(ctx, s.db, "record verification", qVerificationSent, user, phone)
}

// PendingVerification is the number a code was sent to while the code can still be valid;
// found is false when there is none.
func (s *Store) PendingVerification(ctx context.Context, user uuid.UUID) (phone string, found bool, err error) {
	err = s.db.QueryRow(ctx, qVerificationPending, user).Scan(&phone)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: pending verification: %w", err)
	}
	return phone, true, nil
}

// ConfirmPhone makes the number whose code was approved the user's, verified; false when a newer
// send replaced it.
func (s *Store) ConfirmPhone(ctx context.Context, user uuid.UUID, phone string) (bool, error) {
	return one[bool](ctx, s.db, "confirm phone", qConfirmPhone, user, phone)
}

// SubscribePush stores a browser's push subscription for user (userAgent "": none), moving it
// from another account that had it. created is false when the endpoint was known.
func (s *Store) SubscribePush(ctx context.Context, user uuid.UUID, endpoint, p256dh, auth, userAgent string) (id string, created bool, err error) {
	err = s.db.QueryRow(ctx, qSubscribePush, user, endpoint, p256dh, auth, nullIfEmpty(userAgent)).Scan(&id, &created)
	if err != nil {
		return "", false, fmt.Errorf("store: subscribe: %w", err)
	}
	return id, created, nil
}

// UnsubscribePush deletes user's subscription of endpoint; false when the user has none.
func (s *Store) UnsubscribePush(ctx context.Context, user uuid.UUID, endpoint string) (bool, error) {
	tag, err := s.db.Exec(ctx, qUnsubscribePush, user, endpoint)
	if err != nil {
		return false, fmt.Errorf("store: unsubscribe: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}
