package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/agentsvc/graph"
	"github.com/flux-companion/flux/listener/bench"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/sql/pgtest"
)

// flux chat against a running service: each line is inserted as the user (RLS applies) and the
// replies are printed as they arrive; a message another user's RLS would refuse is refused here.
func TestChatCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)
	onboardedUser(t, pool, "chatcmd@test.flux.local", "America/New_York")
	runAgents(t, url, "chatcmd")

	var out, errOut bytes.Buffer
	in := strings.NewReader("remind me to stretch in 20 minutes\n" + strings.Repeat("x", 4001) + "\n\n")
	code := cmdChat(ctx, []string{"--user", "chatcmd@test.flux.local", "--database-url", url, "--wait", "15s"}, in, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "flux: Reminder set: “Stretch” today at ") {
		t.Errorf("output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "! ERROR: new row for relation \"messages\" violates check constraint") {
		t.Errorf("an oversized message should be refused by the database, as for the app; output:\n%s", out.String())
	}
	if n := count(t, pool, `select count(*) from public.tasks where title = 'Stretch'`); n != 1 {
		t.Errorf("%d Stretch tasks, want 1", n)
	}
}

func TestChatCommandUnknownUser(t *testing.T) {
	t.Parallel()
	url := pgtest.DB(t)
	var out, errOut bytes.Buffer
	if code := cmdChat(context.Background(), []string{"--user", "nobody@test.flux.local", "--database-url", url}, strings.NewReader(""), &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "no user nobody@test.flux.local") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// --new-user signs up a user of its own, who is not onboarded: the first reply is onboarding.
func TestChatCommandNewUserMeetsOnboarding(t *testing.T) { // not parallel: it sets TZ
	ctx := context.Background()
	url := pgtest.DB(t)
	runAgents(t, url, "chatnew")
	t.Setenv("TZ", "Asia/Kolkata")
	var out, errOut bytes.Buffer
	code := cmdChat(ctx, []string{"--new-user", "--database-url", url, "--wait", "15s"}, strings.NewReader("hi\n\n"), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "Chatting as new-") || !strings.Contains(out.String(), "What should I call you?") {
		t.Errorf("a new user is greeted by onboarding; output:\n%s", out.String())
	}
	var zone string
	var onboarded bool
	pool := pgtest.PoolOn(t, url)
	if err := pool.QueryRow(ctx, `select timezone, onboarded from public.users where email like 'new-%@demo.flux.local'`).Scan(&zone, &onboarded); err != nil {
		t.Fatal(err)
	}
	if zone != "Asia/Kolkata" || onboarded {
		t.Errorf("new user in %s, onboarded %v; want Asia/Kolkata and not yet", zone, onboarded)
	}
	if code := cmdChat(ctx, []string{"--new-user", "--user", "alex@demo.flux.local", "--database-url", url}, strings.NewReader(""), &out, &errOut); code != 2 {
		t.Errorf("--new-user with --user: exit %d, want 2", code)
	}
}

// onboardedUser signs a user up in zone and returns their id. Onboarding has its own tests: this
// user has been through it.
func onboardedUser(t *testing.T, pool *pgxpool.Pool, email, zone string) (id string) {
	t.Helper()
	ctx := context.Background()
	if err := pool.QueryRow(ctx, `insert into auth.users (id, email, raw_user_meta_data)
		values (gen_random_uuid(), $1, jsonb_build_object('timezone', $2::text)) returning id::text`, email, zone).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `update public.users set onboarded = true where id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// runAgents runs the service's feed and offline agents on url until the test ends.
func runAgents(t *testing.T, url, name string) {
	t.Helper()
	t.Cleanup(bench.RunService(context.Background(), service.Config{
		DatabaseURL: url, DisableHTTP: true, DisableDispatch: true,
		Slot:       fmt.Sprintf("%s_%d", name, time.Now().UnixNano()%1e9),
		Dispatch:   dispatch.Config{Owner: name},
		Agent:      &graph.Graph{},
		FeedStatus: 200 * time.Millisecond,
		Log:        slog.New(slog.DiscardHandler),
	}, func(err error) { t.Errorf("service: %v", err) }))
}
