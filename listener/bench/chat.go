package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/flux-companion/flux/agentsvc/graph"
	"github.com/flux-companion/flux/agentsvc/llm"
	"github.com/flux-companion/flux/agentsvc/llmfake"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/listener/chat"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/sql/store"
)

// ChatConfig of a chat run.
type ChatConfig struct {
	Users   int // concurrent conversations, one user each; default 50
	Workers int // the runner's conversations at once; default 8 (the service default)
	Out     io.Writer
}

// ChatResult of a chat run.
type ChatResult struct {
	Turns        int
	P50, P99     time.Duration
	CallsPerPlan float64
}

// The conversation each simulated user has, one message after the other's reply: a goal
// (orchestrator, classifier and planner), an approval (no model) and a reminder (orchestrator).
var chatScript = []string{"I want to run a 5K", "yes", "remind me to call mom at 5pm"}

// RunChat measures chat end to end on this machine: a throwaway PostgreSQL, the service as
// `flux listen` runs it (change feed, runner, graph, the LLM client), and the OpenAI-compatible
// fake answering instantly. Users converse concurrently: each starts within the first second
// and waits for a reply, then 200–600 ms more, before the next message, as people do (all of
// them sending at the same instant would measure a queue, not a reply). Insert-to-reply is the reply's created_at minus the message's,
// both from the one SQL clock (transaction start times: the reply's commit comes just after).
// The last line printed is "chat: insert-to-reply p50 <X> ms p99 <Y> ms, <N> LLM calls per
// plan turn".
func RunChat(ctx context.Context, cfg ChatConfig) (ChatResult, error) {
	orDefault(&cfg.Users, 50)
	orDefault(&cfg.Workers, 8)
	out := cfg.Out
	fmt.Fprintf(out, "machine: %s\n", machine())

	// Commits flush their WAL, as on a real project: the change feed only ever sees flushed
	// WAL, so with a throwaway cluster's synchronous_commit=off every message would wait for
	// the WAL writer (up to 200 ms) before the listener could hear of it.
	url, pool, stopDB, err := StartDatabase(ctx, map[string]string{"synchronous_commit": "on"})
	if err != nil {
		return ChatResult{}, err
	}
	defer stopDB()

	fake, err := llmfake.Start()
	if err != nil {
		return ChatResult{}, err
	}
	defer fake.Close()
	if err := ScriptModels(fake, nil); err != nil {
		return ChatResult{}, err
	}

	convs, err := seedChatUsers(ctx, pool, cfg.Users)
	if err != nil {
		return ChatResult{}, err
	}
	stop := RunService(ctx, service.Config{
		DatabaseURL: url, DisableHTTP: true, DisableDispatch: true,
		Slot:     "flux_bench_chat",
		Dispatch: dispatch.Config{Owner: "bench"},
		Agent:    &graph.Graph{Log: warnLog, LLM: llm.New(llm.Config{APIKey: "bench", BaseURL: fake.URL(), Logger: warnLog})},
		Chat:     chat.Config{Workers: cfg.Workers},
		Log:      warnLog,
	}, serviceFailed)

	started := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	rng := rand.New(rand.NewPCG(1, 2)) // the same arrivals on every run
	for _, c := range convs {
		start := time.Duration(rng.Int64N(int64(time.Second)))
		think := make([]time.Duration, len(chatScript))
		for i := range think {
			think[i] = thinkMin + time.Duration(rng.Int64N(int64(thinkMax-thinkMin)))
		}
		g.Go(func() error {
			time.Sleep(start)
			return converse(gctx, pool, c, think)
		})
	}
	err = g.Wait()
	elapsed := time.Since(started)
	stop()
	if err != nil {
		return ChatResult{}, err
	}

	// Every conversation must have gone the scripted way: a plan approved, a reminder set.
	var unplanned int
	if err := pool.QueryRow(ctx, `select count(*) from public.users u where not exists
		(select 1 from public.tasks t where t.user_id = u.id and t.goal_id is not null)
		or not exists (select 1 from public.tasks t where t.user_id = u.id and t.goal_id is null)`).Scan(&unplanned); err != nil {
		return ChatResult{}, err
	}
	if unplanned > 0 {
		return ChatResult{}, fmt.Errorf("bench: %d users did not get both their plan and their reminder", unplanned)
	}
	lags, err := replyLags(ctx, pool)
	if err != nil {
		return ChatResult{}, err
	}
	res := ChatResult{Turns: len(lags), P50: percentile(lags, 0.50), P99: percentile(lags, 0.99)}
	planCalls := 0
	for _, r := range fake.Requests() {
		var in struct {
			Message string `json:"message"`
		}
		switch graph.AgentOf(r.Messages[0].Content) {
		case "classifier", "planner":
			planCalls++
		case "orchestrator":
			// The orchestrator's input names the message it routes.
			if json.Unmarshal([]byte(r.Last("user")), &in) == nil && in.Message == chatScript[0] {
				planCalls++
			}
		}
	}
	res.CallsPerPlan = float64(planCalls) / float64(len(convs))
	fmt.Fprintf(out, "turns: %d users × %d messages, %d runner workers, in %s (%.0f turns/s); %d model requests\n",
		len(convs), len(chatScript), cfg.Workers, elapsed.Round(time.Millisecond), float64(len(lags))/elapsed.Seconds(), len(fake.Requests()))
	fmt.Fprintf(out, "latency: insert-to-reply %s\n", spread(lags))
	fmt.Fprintf(out, "chat: insert-to-reply p50 %.1f ms p99 %.1f ms, %.0f LLM calls per plan turn\n", ms(res.P50), ms(res.P99), res.CallsPerPlan)
	return res, nil
}

// ScriptModels has fake give every agent a valid answer for what chatScript says: a goal and
// its plan, or a reminder. The answers are instant, but for the planner's when plannerDelay is
// set: it is how long each plan takes (the listener's chat crash test keeps plans in flight).
func ScriptModels(fake *llmfake.Server, plannerDelay func() time.Duration) error {
	p, err := json.Marshal(plan.Plan{
		GoalTitle: "Run a 5K", Tags: []string{"Fitness"}, FeasibleIn6Weeks: true, MicroGoalRoadmap: []plan.MicroGoal{},
		ProposedTasks: []plan.ProposedTask{
			{Title: "Walk-run", ScheduledDays: []string{"Tue", "Sat"}, SuggestedTime: "07:30", DurationMinutes: 20, WeekRange: []int{1, 2}},
			{Title: "Easy run", ScheduledDays: []string{"Tue", "Thu", "Sat"}, SuggestedTime: "07:30", DurationMinutes: 30, WeekRange: []int{3, 6}},
		},
		ConflictsDetected: []plan.Conflict{}, PlanSummary: "Two gentle weeks, then three easy runs a week.",
		ApprovalStatus: plan.StatusPending,
	})
	if err != nil {
		return err
	}
	fake.Script(func(req llmfake.Request) llmfake.Reply {
		switch graph.AgentOf(req.Messages[0].Content) {
		case "orchestrator":
			if strings.Contains(req.Last("user"), "remind me") {
				return llmfake.Reply{Content: `{"intent":"NEW_TASK","payload":"call mom","clarification_question":"","task_id":"","goal_id":""}`}
			}
			return llmfake.Reply{Content: `{"intent":"GOAL","payload":"run a 5K","clarification_question":"","task_id":"","goal_id":""}`}
		case "classifier":
			return llmfake.Reply{Content: `{"tags":["Fitness"]}`}
		case "planner":
			reply := llmfake.Reply{Content: string(p)}
			if plannerDelay != nil {
				reply.Delay = plannerDelay()
			}
			return reply
		}
		return llmfake.Reply{Status: 400, Content: "bench: unexpected prompt"}
	})
	return nil
}

type chatUser struct{ ID, Conv string }

func seedChatUsers(ctx context.Context, pool *pgxpool.Pool, n int) ([]chatUser, error) {
	if _, err := pool.Exec(ctx, `insert into auth.users (id, email, raw_user_meta_data)
		select gen_random_uuid(), 'chat' || i || '@bench.flux.local', '{"timezone": "Europe/Berlin"}'
		from generate_series(1, $1::int) i`, n); err != nil {
		return nil, fmt.Errorf("bench: users: %w", err)
	}
	// Onboarded, with a day to plan around.
	if _, err := pool.Exec(ctx, `update public.users set onboarded = true,
		profile = '{"chronotype": "morning", "sleep_window": {"start": "23:00", "end": "06:30"}, "work_hours": {"start": "09:00", "end": "17:00"}}'`); err != nil {
		return nil, fmt.Errorf("bench: users: %w", err)
	}
	rows, err := pool.Query(ctx, `insert into public.conversations (user_id) select id from public.users returning user_id::text, id::text`)
	if err != nil {
		return nil, fmt.Errorf("bench: users: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[chatUser])
}

// A person reads a reply before answering it.
const thinkMin, thinkMax = 200 * time.Millisecond, 600 * time.Millisecond

// converse sends the script as the user (through RLS, as supabase-js would), each message
// a think time after the previous reply.
func converse(ctx context.Context, pool *pgxpool.Pool, c chatUser, think []time.Duration) error {
	for i, text := range chatScript {
		if i > 0 {
			time.Sleep(think[i])
		}
		err := store.AsUser(ctx, pool, c.ID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `insert into public.messages (conversation_id, content) values ($1, $2)`, c.Conv, text)
			return err
		})
		if err != nil {
			return fmt.Errorf("bench: send: %w", err)
		}
		if err := awaitReply(ctx, pool, c.Conv); err != nil {
			return err
		}
	}
	return nil
}

var pollMu sync.Mutex // one poller at a time: waiting must not load the database being measured

func awaitReply(ctx context.Context, pool *pgxpool.Pool, conv string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		time.Sleep(5 * time.Millisecond)
		var status string
		pollMu.Lock()
		err := pool.QueryRow(ctx, `select agent_status from public.conversations where id = $1`, conv).Scan(&status)
		pollMu.Unlock()
		if err != nil {
			return err
		}
		if status == "idle" {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("bench: no reply within 2 minutes")
		}
	}
}

// replyLags pairs every user message with the first reply after it.
func replyLags(ctx context.Context, pool *pgxpool.Pool) ([]time.Duration, error) {
	return sortedLags(ctx, pool, `
		select extract(epoch from (select min(r.created_at) from public.messages r
		                           where r.conversation_id = m.conversation_id and r.role = 'assistant'
		                             and r.created_at > m.created_at) - m.created_at)
		from public.messages m where m.role = 'user'`,
		"a message was never answered", "no turns measured")
}
