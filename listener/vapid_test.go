package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/flux-companion/flux/listener/logtest"
	"github.com/flux-companion/flux/listener/pushfake"
)

// flux vapid prints a pair that flux listen accepts and that a push service verifies.
func TestVAPIDPrintsAWorkingPair(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"vapid"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	env := map[string]string{"VAPID_SUBSCRIBER": "mailto:ops@flux.test", "DATABASE_URL": "postgres://127.0.0.1/flux"}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || v == "" {
			t.Fatalf("line %q is not KEY=value", line)
		}
		env[k] = v
	}
	cfg, err := listenConfig(func(k string) string { return env[k] }, "dispatch", new(logtest.Buffer).Logger())
	if err != nil || cfg.Push.VAPIDPublicKey != env["VAPID_PUBLIC_KEY"] || cfg.Push.VAPIDPrivateKey == "" {
		t.Fatalf("flux listen with the printed pair: %+v, %v", cfg.Push, err)
	}
	push, err := pushfake.Start(env["VAPID_PUBLIC_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	defer push.Close()
	sub := push.NewSubscription()
	cfg.Push.HTTPClient = push.Client()
	status, err := cfg.Push.Send(context.Background(), webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth}},
		[]byte(`{"title":"hi"}`), webpush.UrgencyNormal)
	if err != nil || status != 201 || len(push.Deliveries()) != 1 {
		t.Fatalf("push signed with the printed key: %d %v (%d delivered)", status, err, len(push.Deliveries()))
	}
	var again bytes.Buffer
	run(context.Background(), []string{"vapid"}, &again, &errOut)
	if again.String() == out.String() {
		t.Fatal("two runs printed the same pair")
	}
}
