package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/agentsvc/graph"
	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/chat"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/sql/store"
)

// asUser runs sql as the signed-in user, the way PostgREST runs a supabase-js call (see
// store.AsUser), and returns its one value.
func asUser(t *testing.T, pool *pgxpool.Pool, uid string, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	var out string
	err := store.AsUser(ctx, pool, uid, func(tx pgx.Tx) error { return tx.QueryRow(ctx, sql, args...).Scan(&out) })
	if err != nil {
		t.Fatalf("as user: %s: %v", sql, err)
	}
	return out
}

// A chat through the running service in offline mode: the client's inserts reach the agents
// through the change feed (the runner's own sweep is an hour), and the replies, tasks and the
// approved plan come back as rows.
func TestChatThroughTheService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)

	var uid string
	if err := pool.QueryRow(ctx, `insert into auth.users (id, email, raw_user_meta_data)
		values (gen_random_uuid(), 'chat-svc@test.flux.local', '{"timezone": "Europe/Berlin"}') returning id::text`).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `update public.users set onboarded = true where id = $1`, uid); err != nil {
		t.Fatal(err)
	}
	// Noon in Berlin today, so "at 5pm" is today and the plan starts tomorrow.
	if _, err := pool.Exec(ctx, `select flux.set_time_warp(((now() at time zone 'Europe/Berlin')::date + time '12:00') at time zone 'Europe/Berlin' - now())`); err != nil {
		t.Fatal(err)
	}

	runService(t, service.Config{
		DatabaseURL: url, DisableHTTP: true, DisableDispatch: true,
		Slot:     newSlot("svc_chat"),
		Dispatch: dispatch.Config{Owner: "chat-test"},
		Agent:    &graph.Graph{},
		Chat:     chat.Config{Sweep: time.Hour},
	})

	conv := asUser(t, pool, uid, `insert into conversations default values returning id::text`)
	say := func(content string) string {
		t.Helper()
		asUser(t, pool, uid, `insert into messages (conversation_id, content) values ($1, $2) returning id::text`, conv, content)
		return reply(t, pool, conv)
	}

	got := say("Remind me to call mom at 5pm")
	if !strings.HasPrefix(got, "Reminder set: “Call mom” today at 17:00.") || !strings.HasSuffix(got, graph.OfflineNote) {
		t.Errorf("reply = %q", got)
	}
	var local string
	if err := pool.QueryRow(ctx, `select to_char(scheduled_at at time zone 'Europe/Berlin', 'HH24:MI') from tasks where title = 'Call mom'`).Scan(&local); err != nil {
		t.Fatal(err)
	}
	if local != "17:00" {
		t.Errorf("Call mom at %s Berlin, want 17:00", local)
	}

	got = say("remind me to water the plants")
	if !strings.HasPrefix(got, "When should I remind you to water the plants?") {
		t.Errorf("a reminder without a time: reply = %q, want one focused question", got)
	}
	got = say("every Monday at 7")
	if !strings.Contains(got, "every Monday at 07:00") {
		t.Errorf("the answer completes the reminder: reply = %q", got)
	}
	var mondays, notMonday7 int
	if err := pool.QueryRow(ctx, `select count(*), count(*) filter (where extract(isodow from scheduled_at at time zone 'Europe/Berlin') <> 1
		or to_char(scheduled_at at time zone 'Europe/Berlin', 'HH24:MI') <> '07:00') from tasks where title = 'Water the plants'`).Scan(&mondays, &notMonday7); err != nil {
		t.Fatal(err)
	}
	if mondays != 6 || notMonday7 != 0 {
		t.Errorf("water the plants: %d tasks (%d not Monday 07:00), want 6 Mondays at 07:00", mondays, notMonday7)
	}

	got = say("I want to run a 5K")
	if !strings.Contains(got, "6-week plan for “Run a 5K” (Fitness)") {
		t.Errorf("plan proposal = %q", got)
	}
	var goals int
	if err := pool.QueryRow(ctx, `select count(*) from goals`).Scan(&goals); err != nil {
		t.Fatal(err)
	}
	if goals != 0 {
		t.Fatalf("%d goals before approval, want none", goals)
	}
	asUser(t, pool, uid, `select approve_plan($1)::text`, conv)
	got = reply(t, pool, conv)
	if !strings.HasPrefix(got, "Plan approved: “Run a 5K” is active with ") {
		t.Errorf("approval reply = %q", got)
	}
	var goalTasks int
	var status string
	if err := pool.QueryRow(ctx, `select g.status, count(t.id) from goals g join tasks t on t.goal_id = g.id group by g.status`).Scan(&status, &goalTasks); err != nil {
		t.Fatal(err)
	}
	if status != "active" || goalTasks < 12 || !strings.Contains(got, fmt.Sprintf("with %d tasks", goalTasks)) {
		t.Errorf("goal %s with %d tasks; reply %q", status, goalTasks, got)
	}
	var thinking string
	if err := pool.QueryRow(ctx, `select agent_status from conversations where id = $1`, conv).Scan(&thinking); err != nil {
		t.Fatal(err)
	}
	if thinking != "idle" {
		t.Errorf("conversation %s after the last reply", thinking)
	}
}

// reply waits for the assistant's answer to the conversation's latest user message.
func reply(t *testing.T, pool *pgxpool.Pool, conv string) string {
	t.Helper()
	var content string
	testwait.Within(t, 15*time.Second, "a reply", func() bool {
		err := pool.QueryRow(context.Background(), `
			select a.content from messages a
			where a.conversation_id = $1 and a.role = 'assistant'
			  and a.created_at >= (select max(created_at) from messages where conversation_id = $1 and role = 'user')
			order by a.created_at desc limit 1`, conv).Scan(&content)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		return err == nil
	})
	return content
}

// Every message is picked up from its own wake-up, never from the sweep (an hour here). The
// change feed decodes a commit once it is in the WAL, a moment before the committing session
// makes it visible to others, so a wake-up can come before its message can be claimed. Here that
// moment is made long on purpose: the feed is the cluster's synchronous standby, so each commit
// becomes visible only after the feed confirmed it, which it does after handling it. A few
// hundred messages are sent at once from many sessions, then one by one.
func TestEveryMessageIsPickedUpFromItsWakeUp(t *testing.T) {
	t.Parallel()
	t.Run("the feed's own runner", func(t *testing.T) { t.Parallel(); wakeUps(t, false, 240, 120) })
	// The runner on another replica hears of the message by a hint, at the same moment.
	t.Run("another replica's runner", func(t *testing.T) { t.Parallel(); wakeUps(t, true, 120, 60) })
}

func wakeUps(t *testing.T, split bool, burst, oneByOne int) {
	ctx := context.Background()
	db := pgtest.NewRestartable(t)
	url := db.URL() + "&application_name=flux_wake_test"
	pool := pgtest.PoolOn(t, url)

	const users = 16
	var convs, owners []string
	for i := range users {
		var uid, conv string
		if err := pool.QueryRow(ctx, `insert into auth.users (id, email) values (gen_random_uuid(), $1) returning id::text`,
			fmt.Sprintf("wake-%d@test.flux.local", i)).Scan(&uid); err != nil {
			t.Fatal(err)
		}
		if err := pool.QueryRow(ctx, `with o as (update public.users set onboarded = true where id = $1)
			insert into public.conversations (user_id) values ($1) returning id::text`, uid).Scan(&conv); err != nil {
			t.Fatal(err)
		}
		owners, convs = append(owners, uid), append(convs, conv)
	}
	if split {
		runService(t, service.Config{
			DatabaseURL: url, DisableHTTP: true, DisableDispatch: true,
			Dispatch: dispatch.Config{Owner: "wake-feed"}, FeedStatus: 20 * time.Millisecond,
		})
		runService(t, service.Config{
			DatabaseURL: url, DisableHTTP: true, DisableDispatch: true, DisableFeed: true,
			Dispatch: dispatch.Config{Owner: "wake-agents"}, Agent: &graph.Graph{}, Chat: chat.Config{Sweep: time.Hour},
		})
	} else {
		runService(t, service.Config{
			DatabaseURL: url, DisableHTTP: true, DisableDispatch: true,
			Dispatch:   dispatch.Config{Owner: "wake-test"},
			Agent:      &graph.Graph{},
			Chat:       chat.Config{Sweep: time.Hour},
			FeedStatus: 20 * time.Millisecond,
		})
	}
	feedIsSynchronousStandby(t, pool, "flux_wake_test")

	send := func(i int) {
		if _, err := pool.Exec(ctx, `insert into public.messages (conversation_id, user_id, role, content) values ($1, $2, 'user', 'hi')`,
			convs[i%users], owners[i%users]); err != nil {
			t.Error(err)
		}
	}
	open := func() (n int) {
		if err := pool.QueryRow(ctx, `select count(*) from flux.agent_runs where status in ('pending', 'running')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Far below the sweep: only a wake-up can have answered within it.
	answered := func(what string) {
		t.Helper()
		if !testwait.Until(30*time.Second, func() bool { return open() == 0 }) {
			t.Fatalf("%s: %d runs still open after 30 s", what, open())
		}
	}

	var wg sync.WaitGroup
	for g := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < burst; i += users {
				send(i)
			}
		}()
	}
	wg.Wait()
	answered("sent at once")
	for i := range oneByOne {
		send(i)
		answered(fmt.Sprintf("message %d sent one by one", i))
	}
	var done int
	if err := pool.QueryRow(ctx, `select count(*) from flux.agent_runs where status = 'done'`).Scan(&done); err != nil {
		t.Fatal(err)
	}
	if done != burst+oneByOne {
		t.Errorf("%d runs done, want %d", done, burst+oneByOne)
	}
}

// feedIsSynchronousStandby makes the change feed (connected as application name app) the
// cluster's synchronous standby, once it streams: from then on a commit becomes visible to
// other sessions only after the feed handled and confirmed it, which stretches the moment
// between the feed seeing a commit and anyone else seeing it from microseconds to the feed's
// status interval.
func feedIsSynchronousStandby(t *testing.T, pool *pgxpool.Pool, app string) {
	t.Helper()
	ctx := context.Background()
	testwait.For(t, "the feed to stream", func() bool {
		var n int
		if err := pool.QueryRow(ctx, `select count(*) from pg_stat_replication where application_name = $1 and state = 'streaming'`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
	for _, q := range []string{fmt.Sprintf(`alter system set synchronous_standby_names = '%s'`, app), `select pg_reload_conf()`} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}
