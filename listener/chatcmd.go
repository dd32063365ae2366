package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/sql/store"
)

// devDatabaseURL is where `flux dev` serves its database.
const devDatabaseURL = "postgres://postgres@127.0.0.1:54329/postgres?sslmode=disable"

// cmdChat is a terminal client that acts as a signed-in user exactly as supabase-js through
// PostgREST does: every statement runs as role authenticated with the user's JWT claims, so
// RLS, column grants, the rate limit and the triggers decide what it may do, as for the app.
// It inserts each line as a message and prints the replies as they arrive.
func cmdChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "alex@demo.flux.local", "email of the user to act as")
	conversation := fs.String("conversation", "", "conversation id to continue (default: a new one)")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for a reply")
	url := fs.String("database-url", envOr("DATABASE_URL", devDatabaseURL), "the database (default: DATABASE_URL, else flux dev's)")
	newUser := fs.Bool("new-user", false, "sign up a new user first and chat as them (meets onboarding; time zone from $TZ, else UTC)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	userSet := false
	fs.Visit(func(f *flag.Flag) { userSet = userSet || f.Name == "user" })
	if *newUser && userSet {
		fmt.Fprintln(stderr, "flux chat: --new-user signs up a user of its own; leave out --user")
		return 2
	}
	pool, err := pgxpool.New(ctx, *url)
	if err != nil {
		fmt.Fprintf(stderr, "flux chat: %v\n", err)
		return 1
	}
	defer pool.Close()
	c := &chatClient{pool: pool}
	if *newUser {
		// A sign-up as GoTrue writes it: the provisioning trigger creates the profile, not
		// onboarded, so the agents start with onboarding.
		*user = "new-" + strings.ToLower(rand.Text()[:8]) + "@demo.flux.local"
		zone := envOr("TZ", "UTC")
		if _, err := time.LoadLocation(zone); err != nil || zone == "" || zone == "Local" {
			zone = "UTC"
		}
		if _, err := pool.Exec(ctx, `insert into auth.users (id, email, raw_user_meta_data)
			values (gen_random_uuid(), $1, jsonb_build_object('timezone', $2::text))`, *user, zone); err != nil {
			fmt.Fprintf(stderr, "flux chat: sign up %s in %s (is `flux dev` running?): %v\n", *user, redactURL(*url), err)
			return 1
		}
	}
	if err := pool.QueryRow(ctx, `select id::text from auth.users where email = $1`, *user).Scan(&c.uid); err != nil {
		fmt.Fprintf(stderr, "flux chat: no user %s in %s (is `flux dev` running?): %v\n", *user, redactURL(*url), err)
		return 1
	}
	c.conv = *conversation
	if c.conv == "" {
		if err := c.as(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `insert into conversations default values returning id::text`).Scan(&c.conv)
		}); err != nil {
			fmt.Fprintf(stderr, "flux chat: new conversation: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "Chatting as %s in conversation %s. Type a message; an empty line or Ctrl-D quits.\n", *user, c.conv)
	in := bufio.NewScanner(stdin)
	for {
		fmt.Fprint(stdout, "> ")
		if !in.Scan() {
			break
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			break
		}
		if err := c.say(ctx, line, *wait, stdout); err != nil {
			fmt.Fprintf(stdout, "! %v\n", err)
		}
	}
	fmt.Fprintln(stdout)
	return 0
}

type chatClient struct {
	pool      *pgxpool.Pool
	uid, conv string
}

// as runs f in a transaction as the user, the way PostgREST runs a request.
func (c *chatClient) as(ctx context.Context, f func(pgx.Tx) error) error {
	return store.AsUser(ctx, c.pool, c.uid, f)
}

// say sends one message, then prints the replies that follow it until the conversation is no
// longer thinking.
func (c *chatClient) say(ctx context.Context, text string, wait time.Duration, out io.Writer) error {
	var sentAt time.Time
	err := c.as(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `insert into messages (conversation_id, content) values ($1, $2) returning created_at`, c.conv, text).Scan(&sentAt)
	})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	shown := sentAt
	thinkingShown := false
	for {
		var status string
		var replies []string
		err := c.as(ctx, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `select agent_status from conversations where id = $1`, c.conv).Scan(&status); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `select content, created_at from messages
				where conversation_id = $1 and role = 'assistant' and created_at > $2 order by created_at`, c.conv, shown)
			if err != nil {
				return err
			}
			var content string
			_, err = pgx.ForEachRow(rows, []any{&content, &shown}, func() error {
				replies = append(replies, content)
				return nil
			})
			return err
		})
		if err != nil {
			return err
		}
		for _, r := range replies {
			fmt.Fprintf(out, "flux: %s\n", r)
		}
		if status == "idle" && (len(replies) > 0 || shown.After(sentAt)) {
			return nil
		}
		if status == "thinking" && !thinkingShown {
			fmt.Fprintln(out, "(thinking…)")
			thinkingShown = true
		}
		if time.Now().After(deadline) {
			return errors.New("no reply yet: is the listener (flux dev) running?")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func redactURL(u string) string {
	if cfg, err := pgx.ParseConfig(u); err == nil {
		return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
	}
	return "DATABASE_URL"
}
