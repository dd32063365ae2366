package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/agentsvc/graph"
	"github.com/flux-companion/flux/listener/auth"
	"github.com/flux-companion/flux/listener/bench"
	"github.com/flux-companion/flux/listener/pushfake"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/sql/store"
)

// flux demo: the product end to end on a throwaway local stack whose clock is moved by the
// development time warp, printed as a timeline. Everything is real (database, listener, agents
// in offline mode, the Twilio and push clients) except the providers, which are the local fakes.

type demo struct {
	out    io.Writer
	pool   *pgxpool.Pool
	base   string // the listener
	tw     *twiliofake.Server
	push   *pushfake.Server
	user   string
	token  string
	conv   string
	loc    *time.Location
	sentTW int // fake Twilio requests already shown
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: flux demo")
		return 2
	}
	if err := runDemo(ctx, stdout); err != nil {
		log.ErrorContext(ctx, "demo failed", "error", err)
		return 1
	}
	return 0
}

func runDemo(ctx context.Context, out io.Writer) error {
	fmt.Fprintln(out, "Flux demo: a throwaway database, the listener, offline agents and fake providers; the clock is warped.")
	url, pool, stopDB, err := bench.StartDatabase(ctx, nil)
	if err != nil {
		return err
	}
	defer stopDB()
	fakes, err := startFakes(ctx, url)
	if err != nil {
		return err
	}
	defer fakes.close()
	cfg, err := fakes.service(url, "127.0.0.1:0", "flux-demo")
	if err != nil {
		return err
	}
	d := &demo{out: out, pool: pool, base: cfg.PublicBaseURL, tw: fakes.twilio, push: fakes.push}
	d.loc, _ = time.LoadLocation("Europe/Berlin")

	// Sunday 09:00 in Berlin, the week after next: the plan starts on Monday.
	now := time.Now().In(d.loc)
	sunday := time.Date(now.Year(), now.Month(), now.Day()+7+(7-int(now.Weekday()))%7, 9, 0, 0, 0, d.loc)
	if err := d.warp(ctx, sunday); err != nil {
		return err
	}

	quiet := slog.New(slog.DiscardHandler)
	cfg.Agent, cfg.Log, cfg.FeedStatus = &graph.Graph{Log: quiet}, quiet, 200*time.Millisecond
	// The listener runs until the story ends.
	defer bench.RunService(ctx, cfg, func(err error) { fmt.Fprintln(out, "listener:", err) })()
	return d.story(ctx)
}

func (d *demo) story(ctx context.Context) error {
	d.section("Sign-up and onboarding")
	if err := d.pool.QueryRow(ctx, `insert into auth.users (id, email, raw_user_meta_data)
		values (gen_random_uuid(), 'maya@demo.flux.local', '{"timezone": "Europe/Berlin"}') returning id::text`).Scan(&d.user); err != nil {
		return err
	}
	tok, err := auth.SignHS256(devJWTSecret, auth.UserClaims(uuid.MustParse(d.user), "maya@demo.flux.local", 24*time.Hour, time.Now()))
	if err != nil {
		return err
	}
	d.token = tok
	if err := d.as(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `insert into public.conversations (context_type) values ('onboarding') returning id::text`).Scan(&d.conv)
	}); err != nil {
		return err
	}
	for _, say := range []string{"Hi!", "I'm Maya", "half past six", "11pm", "9-5 weekdays", "a morning person",
		"yes", "home is Kreuzberg, work is Mitte", "choir Thursdays 19:30", "+49 151 2345 6789", "yes please",
		"I want to run a 5K"} {
		if err := d.turn(ctx, say, `insert into public.messages (conversation_id, content) values ($1, $2)`, d.conv, say); err != nil {
			return err
		}
	}

	d.section("Approval")
	if err := d.turn(ctx, "presses Approve (approve_plan)", `select public.approve_plan($1)`, d.conv); err != nil {
		return err
	}

	d.section("Phone verification and WhatsApp opt-in (listener endpoints, Twilio Verify)")
	phone := "+4915123456789"
	if err := d.call(ctx, "POST", "/v1/phone/verification", `{"phone_number": "`+phone+`"}`, http.StatusAccepted); err != nil {
		return err
	}
	code := d.tw.LastCode(phone)
	d.event("sms", fmt.Sprintf("Twilio Verify sends code %s to %s", code, phone))
	if err := d.call(ctx, "POST", "/v1/phone/verification/check", `{"code": "`+code+`"}`, http.StatusOK); err != nil {
		return err
	}
	// Maya said yes to WhatsApp in onboarding: verifying the number opts her in.
	var optedIn bool
	if err := d.pool.QueryRow(ctx, `select whatsapp_opt_in_at is not null from public.users where id = $1`, d.user).Scan(&optedIn); err != nil {
		return err
	}
	if !optedIn {
		return errors.New("demo: the WhatsApp consent from onboarding was not applied when the phone was verified")
	}
	d.event("app", "phone verified; WhatsApp reminders on (Maya said yes in onboarding)")
	sub := d.push.NewSubscription()
	body, _ := json.Marshal(map[string]any{"endpoint": sub.Endpoint, "keys": map[string]string{"p256dh": sub.P256dh, "auth": sub.Auth}})
	if err := d.call(ctx, "POST", "/v1/push/subscriptions", string(body), http.StatusCreated); err != nil {
		return err
	}
	d.event("app", "this browser subscribed to Web Push")
	d.sentTW = len(d.tw.Requests())

	d.section("The first run: push, the WhatsApp template, a snooze, Maya answers “1”")
	tasks, err := d.tasks(ctx)
	if err != nil {
		return err
	}
	first := tasks[0]
	if err := d.ladder(ctx, first, "whatsapp"); err != nil {
		return err
	}
	// Maya taps the template's Snooze button: the reminder comes back in 10 minutes, ladder and all.
	if err := d.whatsapp(ctx, phone, "Snooze", "snooze"); err != nil {
		return err
	}
	var again time.Time
	if err := d.wait(ctx, "the snooze", func() bool {
		var n int
		return d.pool.QueryRow(ctx, `select snooze_count, escalation_due_at from public.tasks where id = $1`, first.ID).Scan(&n, &again) == nil && n == 1
	}); err != nil {
		return err
	}
	d.event("whatsapp", fmt.Sprintf("Maya: [Snooze]  →  reminded again at %s", again.In(d.loc).Format("15:04")))
	if err := d.warp(ctx, again); err != nil {
		return err
	}
	if err := d.waitPush(ctx, first.ID, 2); err != nil {
		return err
	}
	// She wrote on WhatsApp a minute ago, so the window is open: this time the reminder is text.
	if err := d.warp(ctx, again.Add(2*time.Minute)); err != nil {
		return err
	}
	if err := d.showTwilio(ctx, "whatsapp"); err != nil {
		return err
	}
	if err := d.whatsapp(ctx, phone, "1", ""); err != nil {
		return err
	}
	if err := d.waitStatus(ctx, first.ID, "done"); err != nil {
		return err
	}
	d.event("whatsapp", "Maya: 1  →  done (signed webhook, ladder stopped)")

	// Three weeks: the runs on the second run's weekday go unanswered, the rest are done in the app.
	missed := tasks[1].At.In(d.loc).Weekday()
	d.section(fmt.Sprintf("Three weeks: %s runs are ignored, the rest done in the app", missed))
	until := first.At.AddDate(0, 0, 21)
	for _, t := range tasks[1:] {
		if t.At.After(until) {
			break
		}
		if t.At.In(d.loc).Weekday() != missed {
			if err := d.warp(ctx, t.At.Add(-time.Minute)); err != nil {
				return err
			}
			if err := d.exec(ctx, `select public.complete_task($1)`, t.ID); err != nil {
				return err
			}
			d.event("app", fmt.Sprintf("✓ %s done (complete_task)", t.Title))
			continue
		}
		if err := d.ladder(ctx, t, "auto_miss"); err != nil {
			return err
		}
		var pattern string
		_ = d.pool.QueryRow(ctx, `select description from public.patterns where user_id = $1 order by updated_at desc limit 1`, d.user).Scan(&pattern)
		if pattern != "" {
			d.event("pattern", pattern)
			break
		}
	}

	d.section("Analytics (RPCs over the rollups)")
	return d.as(ctx, func(tx pgx.Tx) error {
		var overview json.RawMessage
		if err := tx.QueryRow(ctx, `select public.analytics_overview(28) - 'heatmap'`).Scan(&overview); err != nil {
			return err
		}
		d.event("overview", string(overview))
		rows, err := tx.Query(ctx, `select week_start::text, done, total, coalesce(percent::text, '-') from public.analytics_weekly_completion(4)`)
		if err != nil {
			return err
		}
		var week, pct string
		var done, total int
		if _, err := pgx.ForEachRow(rows, []any{&week, &done, &total, &pct}, func() error {
			d.event("weekly", fmt.Sprintf("week of %s: %d of %d done (%s%%)", week, done, total, pct))
			return nil
		}); err != nil {
			return err
		}
		var missed string
		if err := tx.QueryRow(ctx, `select coalesce(string_agg(format('%s: %s missed of %s', category, missed, total), '; '), 'none')
			from public.analytics_missed_by_category()`).Scan(&missed); err != nil {
			return err
		}
		d.event("missed", missed)
		fmt.Fprintf(d.out, "\nSent through the fakes: %d push messages, %d WhatsApp messages, %d calls.\n",
			len(d.push.Deliveries()), len(d.tw.Messages()), len(d.tw.Calls()))
		return nil
	})
}

type demoTask struct {
	ID, Title string
	At        time.Time
}

func (d *demo) tasks(ctx context.Context) ([]demoTask, error) {
	rows, err := d.pool.Query(ctx, `select id::text, title, scheduled_at from public.tasks
		where user_id = $1 and status = 'pending' and scheduled_at > flux.now() order by scheduled_at`, d.user)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[demoTask])
	if err == nil && len(ts) < 2 {
		err = fmt.Errorf("demo: the plan has %d upcoming tasks", len(ts))
	}
	return ts, err
}

// ladder moves the clock rung by rung through a task's reminders, up to and including last,
// and shows what each rung sent (the listener fires them; the demo only moves time).
func (d *demo) ladder(ctx context.Context, t demoTask, last string) error {
	const lead, window = 10 * time.Minute, 2 * time.Minute // the defaults of notification_preferences
	rungs := []struct {
		name string
		at   time.Time
	}{{"push", t.At.Add(-lead)}, {"whatsapp", t.At.Add(window)}, {"call", t.At.Add(2 * window)}, {"auto_miss", t.At.Add(3 * window)}}
	for _, r := range rungs {
		if err := d.warp(ctx, r.at); err != nil {
			return err
		}
		var err error
		switch r.name {
		case "push":
			err = d.waitPush(ctx, t.ID, 1)
		case "whatsapp", "call":
			err = d.showTwilio(ctx, r.name)
		case "auto_miss":
			if err = d.waitStatus(ctx, t.ID, "missed"); err == nil {
				d.event("auto-miss", t.Title+": no answer, marked missed")
			}
		}
		if err != nil || r.name == last {
			return err
		}
	}
	return nil
}

// waitPush waits for the n-th push that carries the task and shows it.
func (d *demo) waitPush(ctx context.Context, task string, n int) error {
	var p struct{ Title, Body string }
	if err := d.wait(ctx, "the push", func() bool {
		seen := 0
		for _, dl := range d.push.Deliveries() {
			if bytes.Contains(dl.Payload, []byte(task)) {
				if seen++; seen == n {
					return json.Unmarshal(dl.Payload, &p) == nil
				}
			}
		}
		return false
	}); err != nil {
		return err
	}
	d.event("push", p.Title+": "+p.Body)
	return nil
}

// showTwilio waits for the next message or call sent through the fake Twilio and shows it.
func (d *demo) showTwilio(ctx context.Context, kind string) error {
	if err := d.wait(ctx, "the "+kind, func() bool { return len(d.tw.Requests()) > d.sentTW }); err != nil {
		return err
	}
	req := d.tw.Requests()[d.sentTW]
	d.sentTW++
	// Maya answers what Flux recorded as sent: wait for the record, which follows the send.
	if err := d.wait(ctx, "the "+kind+" to be recorded", func() bool {
		var n int
		return d.pool.QueryRow(ctx, `select count(*) from public.notification_log where external_id = $1`, req.SID).Scan(&n) == nil && n == 1
	}); err != nil {
		return err
	}
	text := req.Body
	switch {
	case kind == "call":
		text = "voice call to " + req.Form.Get("To") + " (press 1 done, 4 snooze, 2 reschedule, 3 missed)"
	case req.Form.Get("ContentSid") != "":
		text = "template: " + text + " [Done] [Snooze] [Reschedule] [Missed]"
	}
	text, _, _ = strings.Cut(text, "\n")
	d.event(kind, text)
	return nil
}

// whatsapp posts Maya's WhatsApp message from phone to the listener as Twilio would, signed: text,
// or the tap of a template button (its payload, titled text).
func (d *demo) whatsapp(ctx context.Context, phone, text, button string) error {
	params := twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+14155238886", text)
	if button != "" {
		params.Set("ButtonPayload", button)
		params.Set("ButtonText", text)
	}
	resp, err := d.tw.SendWebhook(ctx, d.base+"/webhooks/twilio/whatsapp", params)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("demo: WhatsApp webhook answered %d", resp.StatusCode)
	}
	return nil
}

func (d *demo) warp(ctx context.Context, at time.Time) error {
	_, err := d.pool.Exec(ctx, `select flux.set_time_warp($1::timestamptz - now())`, at)
	return err
}

func (d *demo) as(ctx context.Context, f func(pgx.Tx) error) error {
	return store.AsUser(ctx, d.pool, d.user, f)
}

// exec runs a statement as Maya.
func (d *demo) exec(ctx context.Context, sql string, args ...any) error {
	return d.as(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// turn is Maya's chat act, shown as what (her message, or the button she presses): it runs the
// statement as her and prints every reply the agents write until the conversation is idle.
func (d *demo) turn(ctx context.Context, what, sql string, args ...any) error {
	var before int
	if err := d.pool.QueryRow(ctx, `select count(*) from public.messages where conversation_id = $1 and role = 'assistant'`, d.conv).Scan(&before); err != nil {
		return err
	}
	d.event("Maya", what)
	if err := d.exec(ctx, sql, args...); err != nil {
		return err
	}
	var replies []string
	err := d.wait(ctx, "the agents' reply", func() bool {
		rows, err := d.pool.Query(ctx, `select m.content from public.messages m join public.conversations c on c.id = m.conversation_id
			where m.conversation_id = $1 and m.role = 'assistant' and c.agent_status = 'idle'
			order by m.created_at, m.id offset $2`, d.conv, before)
		if err != nil {
			return false
		}
		replies, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err == nil && len(replies) > 0
	})
	if err != nil {
		return err
	}
	for _, r := range replies {
		lines := strings.Split(strings.TrimSuffix(r, " "+graph.OfflineNote), "\n")
		d.event("Flux", lines[0])
		for _, l := range lines[1:] {
			if strings.TrimSpace(l) != "" {
				fmt.Fprintf(d.out, "%28s%s\n", "", l)
			}
		}
	}
	return nil
}

// call is a request to the listener's user endpoints as Maya.
func (d *demo) call(ctx context.Context, method, path, body string, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("demo: %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return nil
}

func (d *demo) waitStatus(ctx context.Context, task, status string) error {
	return d.wait(ctx, "task "+status, func() bool {
		var s string
		return d.pool.QueryRow(ctx, `select status from public.tasks where id = $1`, task).Scan(&s) == nil && s == status
	})
}

func (d *demo) wait(ctx context.Context, what string, cond func() bool) error {
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: waited 30 s for %s", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func (d *demo) section(title string) { fmt.Fprintf(d.out, "\n== %s\n", title) }

// event prints one timeline line at the warped clock's local time.
func (d *demo) event(who, text string) {
	var now time.Time
	_ = d.pool.QueryRow(context.Background(), `select flux.now()`).Scan(&now)
	fmt.Fprintf(d.out, "%s  %-9s %s\n", now.In(d.loc).Format("Mon 02 Jan 15:04"), who, text)
}
