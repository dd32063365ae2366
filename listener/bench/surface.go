package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/flux-companion/flux/sql/store"
)

// SurfaceConfig of a surface run.
type SurfaceConfig struct {
	Tasks int // tasks in the database; default 1,000,000
	Users int // their owners; default 2,000
	Ops   int // measured calls of each kind; default 2,000
	Conns int // concurrent clients; default 4
	Out   io.Writer

	// inspect, when set, runs on the seeded and measured database before it is thrown away.
	inspect func(context.Context, *pgxpool.Pool, SurfaceResult) error
}

// SurfaceResult of a surface run.
type SurfaceResult struct {
	Tasks                            int // rows in public.tasks after seeding
	Seed                             time.Duration
	CompleteP50, CompleteP99         time.Duration
	OverviewP50, OverviewP99         time.Duration
	CompleteSamples, OverviewSamples int
	Completed                        []string // every task completed, warm-up included
}

// Rate limits of the two calls (surface and analytics migrations), per user and minute.
const (
	analyticsLimit = 30
	actionsLimit   = 100
)

// The owners' timezones: local days, and so the rollup rows, differ from user to user.
var surfaceZones = []string{
	"UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Chicago", "America/Los_Angeles",
	"America/Sao_Paulo", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "Africa/Lagos",
}

// RunSurface measures the two product calls whose cost must not grow with the task history,
// on a throwaway PostgreSQL holding Tasks tasks: public.complete_task (the status change and
// every trigger behind it: rollups, ladder, sprint rule) and public.analytics_overview (read from
// the rollups). Each call is timed client-side as the whole transaction PostgREST runs for a
// request: begin; the role and JWT claims; the call; commit. Rate limits are on, as in
// production (so each call's counter upsert is in the figure), and calls go round-robin over the
// users so none is limited. Conns clients call concurrently, both kinds interleaved, after an
// unmeasured warm-up. Afterwards the rollups of some users are checked against a recount over
// public.tasks and every completed task must be done: a run that measured a broken path fails.
// The last line printed is "surface: complete p99 <X> ms, overview p99 <Y> ms".
func RunSurface(ctx context.Context, cfg SurfaceConfig) (SurfaceResult, error) {
	orDefault(&cfg.Tasks, 1000000)
	orDefault(&cfg.Users, 2000)
	orDefault(&cfg.Ops, 2000)
	orDefault(&cfg.Conns, 4)
	warm := min(200, max(1, cfg.Ops/10))
	// Calls of each kind per user over the run (round-robin): under both limits, or the run
	// would measure 429s.
	perUser := (warm + cfg.Ops + cfg.Users - 1) / cfg.Users
	if perUser > analyticsLimit {
		return SurfaceResult{}, fmt.Errorf("bench: %d calls of each kind over %d users is %d per user, above the analytics rate limit (%d a minute): use more users or fewer ops",
			warm+cfg.Ops, cfg.Users, perUser, analyticsLimit)
	}
	out := cfg.Out

	// Commits flush their WAL, as on a real project (see RunChat).
	url, pool, stopDB, err := StartDatabase(ctx, map[string]string{"synchronous_commit": "on"}) // seeding and checks
	if err != nil {
		return SurfaceResult{}, err
	}
	defer stopDB()
	var pgVersion string
	if err := pool.QueryRow(ctx, `show server_version`).Scan(&pgVersion); err != nil {
		return SurfaceResult{}, err
	}
	fmt.Fprintf(out, "machine: %s, PostgreSQL %s (fsync off, synchronous_commit on)\n", machine(), pgVersion)

	var res SurfaceResult
	fmt.Fprintf(out, "seeding %d tasks for %d users...\n", cfg.Tasks, cfg.Users)
	if err := seedSurface(ctx, pool, cfg, &res); err != nil {
		return SurfaceResult{}, err
	}

	// Production runs with rate limits (a local migration switches them off).
	if _, err := pool.Exec(ctx, `update flux.settings set rate_limits = true`); err != nil {
		return SurfaceResult{}, err
	}
	users, pending, err := surfaceTargets(ctx, pool, perUser)
	if err != nil {
		return SurfaceResult{}, err
	}
	warmJobs, jobs := surfaceJobs(users, pending, warm, cfg.Ops)
	fmt.Fprintf(out, "rate limits: on (analytics %d/min, actions %d/min per user); calls round-robin over %d users, at most %d of each kind per user\n",
		analyticsLimit, actionsLimit, len(users), perUser)

	// The clients' own connections, one each, all of them opened and used in the warm-up: no
	// measured call waits for a connection or pays a new backend's first plans.
	ccfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return SurfaceResult{}, err
	}
	ccfg.MaxConns, ccfg.MinConns = int32(cfg.Conns), int32(cfg.Conns)
	clients, err := pgxpool.NewWithConfig(ctx, ccfg)
	if err != nil {
		return SurfaceResult{}, err
	}
	defer clients.Close()
	if _, _, err := runSurfaceJobs(ctx, clients, cfg.Conns, warmJobs); err != nil {
		return SurfaceResult{}, err
	}
	started := time.Now()
	completes, overviews, err := runSurfaceJobs(ctx, clients, cfg.Conns, jobs)
	if err != nil {
		return SurfaceResult{}, err
	}
	elapsed := time.Since(started)
	for _, j := range append(warmJobs, jobs...) {
		if j.task != "" {
			res.Completed = append(res.Completed, j.task)
		}
	}

	if err := checkSurface(ctx, pool, users, res.Completed); err != nil {
		return SurfaceResult{}, err
	}
	if cfg.inspect != nil {
		if err := cfg.inspect(ctx, pool, res); err != nil {
			return SurfaceResult{}, err
		}
	}

	res.CompleteSamples, res.OverviewSamples = len(completes), len(overviews)
	res.CompleteP50, res.CompleteP99 = percentile(completes, 0.50), percentile(completes, 0.99)
	res.OverviewP50, res.OverviewP99 = percentile(overviews, 0.50), percentile(overviews, 0.99)
	fmt.Fprintf(out, "calls: %d complete_task + %d analytics_overview from %d clients in %s (%.0f calls/s), after a warm-up of %d + %d\n",
		len(completes), len(overviews), cfg.Conns, elapsed.Round(time.Millisecond),
		float64(len(completes)+len(overviews))/elapsed.Seconds(), warm, warm)
	fmt.Fprintf(out, "complete_task (begin, role and claims, call, commit): %s\n", spread(completes))
	fmt.Fprintf(out, "analytics_overview (begin, role and claims, call, commit): %s\n", spread(overviews))
	fmt.Fprintf(out, "check: %d completed tasks are done; the rollups of %d users equal a recount over public.tasks\n",
		len(res.Completed), min(checkedUsers, len(users)))
	fmt.Fprintf(out, "surface: complete p99 %.1f ms, overview p99 %.1f ms\n", ms(res.CompleteP99), ms(res.OverviewP99))
	return res, nil
}

// seedSurface writes the users (a spread of timezones), three goals each (one completed, two
// active) and the tasks, with every trigger on: the rollups and the ladder state are what the
// triggers make of the rows, as they would be in production.
func seedSurface(ctx context.Context, pool *pgxpool.Pool, cfg SurfaceConfig, res *SurfaceResult) error {
	started := time.Now()
	conn, err := pool.Acquire(ctx) // one session: the temporary table lives in it
	if err != nil {
		return err
	}
	defer conn.Release()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`insert into auth.users (id, email, raw_user_meta_data)
		  select gen_random_uuid(), 'surface' || i || '@bench.flux.local',
		         jsonb_build_object('timezone', ($2::text[])[i % cardinality($2::text[]) + 1])
		  from generate_series(1, $1::int) i`, []any{cfg.Users, surfaceZones}},
		{`update public.users set onboarded = true`, nil},
		{`insert into public.goals (user_id, title, class_tags, status, created_at)
		  select u.id, g.title, g.tags, g.status::public.goal_status, now() - interval '200 days'
		  from public.users u,
		       (values ('Save for a trip', '{Financial,Travel}'::text[], 'completed'),
		               ('Run a 5K', '{Fitness}'::text[], 'active'),
		               ('Learn Spanish', '{Learning}'::text[], 'active')) g (title, tags, status)`, nil},
		{`create temporary table seed_users on commit preserve rows as
		  select (row_number() over (order by u.id) - 1)::int as n, u.id,
		         (select g.id from public.goals g where g.user_id = u.id and g.status = 'completed') as old_goal,
		         array(select g.id from public.goals g where g.user_id = u.id and g.status = 'active' order by g.title) as active
		  from public.users u`, nil},
		{`alter table seed_users add primary key (n)`, nil},
		{`analyze seed_users`, nil},
	} {
		if _, err := conn.Exec(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("bench: seed: %w", err)
		}
	}

	// Task i belongs to user i % Users; each user's tasks are spread evenly over a year, 40%
	// before now (done 72%, missed 20%, rescheduled 4%, cancelled 4%) and 60% after (pending,
	// 3% cancelled). 30% have no goal; past ones may belong to the completed goal. Chunks keep
	// each statement's queue of AFTER trigger events small.
	per := (cfg.Tasks + cfg.Users - 1) / cfg.Users
	const chunk = 100000
	taskStart := time.Now()
	for from := 0; from < cfg.Tasks; from += chunk {
		to := min(cfg.Tasks, from+chunk) - 1
		if _, err := conn.Exec(ctx, `
			insert into public.tasks (user_id, goal_id, title, status, scheduled_at, duration_minutes, completed_at, created_at)
			select su.id,
			       case when x.g < 3 then null when x.past and x.g < 5 then su.old_goal else su.active[1 + x.g % 2] end,
			       'bench task ' || x.i, x.status::public.task_status, x.at, 15 * (1 + x.i % 4),
			       case when x.status = 'done' then x.at + interval '20 minutes' end,
			       least(x.at, now()) - interval '14 days'
			from (
			  select a.i, a.at, a.at < now() as past, abs(hashint4(a.i + 7)::bigint) % 10 as g,
			         case when a.at >= now() then case when a.h < 97 then 'pending' else 'cancelled' end
			              when a.h < 72 then 'done' when a.h < 92 then 'missed' when a.h < 96 then 'rescheduled'
			              else 'cancelled' end as status
			  from (
			    select i, abs(hashint4(i)::bigint) % 100 as h,
			           now() + (((i / $3::int) + (abs(hashint4(i + 13)::bigint) % 1000) / 1000.0) * 365.0 / $4::int - 146)::float8
			                   * interval '1 day' as at
			    from generate_series($1::int, $2::int) i
			  ) a
			) x
			join seed_users su on su.n = x.i % $3::int`, from, to, cfg.Users, per); err != nil {
			return fmt.Errorf("bench: seed tasks: %w", err)
		}
	}
	taskTime := time.Since(taskStart)

	// Settle what the bulk load left behind (dead rollup versions, an all-visible map to set,
	// statistics, dirty pages in the OS) so that autovacuum, a checkpoint or the kernel's
	// writeback do not land in the measurement.
	vacStart := time.Now()
	for _, q := range []string{`drop table seed_users`, `vacuum analyze`, `checkpoint`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("bench: seed: %s: %w", q, err)
		}
	}
	syscall.Sync()
	vacTime := time.Since(vacStart)

	var pending, done, missed, other, days int
	if err := conn.QueryRow(ctx, `
		select count(*), count(*) filter (where status = 'pending'), count(*) filter (where status = 'done'),
		       count(*) filter (where status = 'missed'), count(*) filter (where status not in ('pending', 'done', 'missed')),
		       (select count(*) from flux.task_day_stats)
		from public.tasks`).Scan(&res.Tasks, &pending, &done, &missed, &other, &days); err != nil {
		return err
	}
	res.Seed = time.Since(started)
	fmt.Fprintf(cfg.Out, "seed: %d tasks in public.tasks (%d pending, %d done, %d missed, %d rescheduled or cancelled), %d users in %d timezones, %d goals, %d rollup day rows\n",
		res.Tasks, pending, done, missed, other, cfg.Users, min(cfg.Users, len(surfaceZones)), 3*cfg.Users, days)
	fmt.Fprintf(cfg.Out, "seed time: %s (tasks with their triggers %s, %.0f rows/s; vacuum analyze, checkpoint and sync %s)\n",
		res.Seed.Round(time.Millisecond), taskTime.Round(time.Millisecond), float64(cfg.Tasks)/taskTime.Seconds(), vacTime.Round(time.Millisecond))
	return nil
}

// surfaceTargets returns the users in a fixed shuffled order and, per user, the n pending tasks
// to complete: the next ones due at least two hours from now, so the ladder (pg_cron's sweep
// runs every minute) cannot auto-miss one before the run reaches it.
func surfaceTargets(ctx context.Context, pool *pgxpool.Pool, n int) ([]string, map[string][]string, error) {
	rows, err := pool.Query(ctx, `
		select u.id::text, array(select t.id::text from public.tasks t
		                         where t.user_id = u.id and t.status = 'pending' and t.scheduled_at > now() + interval '2 hours'
		                         order by t.scheduled_at limit $1)
		from public.users u order by u.id`, n)
	if err != nil {
		return nil, nil, err
	}
	var users []string
	pending := map[string][]string{}
	for rows.Next() {
		var u string
		var ids []string
		if err := rows.Scan(&u, &ids); err != nil {
			return nil, nil, err
		}
		if len(ids) < n {
			rows.Close()
			return nil, nil, fmt.Errorf("bench: user %s has %d pending tasks to complete, the run needs %d: seed more tasks", u, len(ids), n)
		}
		users = append(users, u)
		pending[u] = ids
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(3, 4)) // the same order on every run
	rng.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
	return users, pending, nil
}

// A surface call: complete task (as user) when task is set, else read user's overview.
type surfaceJob struct{ user, task string }

// surfaceJobs lays out warm and ops calls of each kind, kinds interleaved at random. Completes
// go round-robin over the users, each taking its user's next pending task; overviews go
// round-robin from the middle of the list, so a user's two kinds do not coincide.
func surfaceJobs(users []string, pending map[string][]string, warm, ops int) (warmJobs, jobs []surfaceJob) {
	rng := rand.New(rand.NewPCG(5, 6))
	c, o := 0, 0
	lay := func(n int) []surfaceJob {
		kinds := make([]bool, 2*n)
		for i := range n {
			kinds[i] = true
		}
		rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		js := make([]surfaceJob, 0, 2*n)
		for _, complete := range kinds {
			if complete {
				u := users[c%len(users)]
				js = append(js, surfaceJob{user: u, task: pending[u][c/len(users)]})
				c++
			} else {
				js = append(js, surfaceJob{user: users[(o+len(users)/2)%len(users)]})
				o++
			}
		}
		return js
	}
	return lay(warm), lay(ops) // in this order: the two share rng and the round-robin
}

// runSurfaceJobs runs the jobs from conns clients and returns the sorted durations of each kind.
func runSurfaceJobs(ctx context.Context, pool *pgxpool.Pool, conns int, jobs []surfaceJob) (completes, overviews []time.Duration, err error) {
	var next atomic.Int64
	took := make([]time.Duration, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	for range conns {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) || gctx.Err() != nil {
					return nil
				}
				j := jobs[i]
				start := time.Now()
				err := store.AsUser(gctx, pool, j.user, func(tx pgx.Tx) error {
					if j.task == "" {
						var overview []byte
						if err := tx.QueryRow(gctx, `select public.analytics_overview()`).Scan(&overview); err != nil {
							return fmt.Errorf("bench: analytics_overview as %s: %w", j.user, err)
						}
						return nil
					}
					var status string
					if err := tx.QueryRow(gctx, `select t.status from public.complete_task($1) t`, j.task).Scan(&status); err != nil {
						return fmt.Errorf("bench: complete_task(%s) as %s: %w", j.task, j.user, err)
					}
					if status != "done" {
						return fmt.Errorf("bench: complete_task(%s) left the task %s", j.task, status)
					}
					return nil
				})
				took[i] = time.Since(start)
				if err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for i, j := range jobs {
		if j.task != "" {
			completes = append(completes, took[i])
		} else {
			overviews = append(overviews, took[i])
		}
	}
	if len(completes) == 0 || len(overviews) == 0 {
		return nil, nil, errors.New("bench: no calls measured")
	}
	slices.Sort(completes)
	slices.Sort(overviews)
	return completes, overviews, nil
}

// Users whose rollups are recounted after the run: the first of the round-robin order, so they
// are among those whose tasks were completed.
const checkedUsers = 20

// checkSurface fails unless every completed task is done and the rollups of the first users
// equal a recount over public.tasks (the aggregates of flux.rebuild_task_day_stats; rows the
// triggers decremented to zero count as absent).
func checkSurface(ctx context.Context, pool *pgxpool.Pool, users, completed []string) error {
	var notDone int
	if err := pool.QueryRow(ctx, `select count(*) from unnest($1::uuid[]) c (id)
		where not exists (select 1 from public.tasks t where t.id = c.id and t.status = 'done' and t.completed_at is not null)`,
		completed).Scan(&notDone); err != nil {
		return err
	}
	if notDone > 0 {
		return fmt.Errorf("bench: %d of the %d completed tasks are not done", notDone, len(completed))
	}
	checked := users[:min(checkedUsers, len(users))]
	var dayDiff, goalDiff int
	if err := pool.QueryRow(ctx, `
		with rd as (
		  select t.user_id, flux.task_local_day(t, u.timezone) as day,
		         count(*) filter (where t.status = 'pending') as pending,
		         count(*) filter (where t.status = 'done') as done,
		         count(*) filter (where t.status = 'missed') as missed
		  from public.tasks t join public.users u on u.id = t.user_id
		  where t.user_id = any ($1::uuid[]) and t.status in ('pending', 'done', 'missed')
		  group by 1, 2
		),
		sd as (select * from flux.task_day_stats where user_id = any ($1::uuid[])),
		rg as (
		  select t.goal_id,
		         count(*) filter (where t.status = 'pending') as pending,
		         count(*) filter (where t.status = 'done') as done,
		         count(*) filter (where t.status = 'missed') as missed
		  from public.tasks t
		  where t.user_id = any ($1::uuid[]) and t.goal_id is not null and t.status in ('pending', 'done', 'missed')
		  group by 1
		),
		sg as (select * from flux.goal_task_stats where user_id = any ($1::uuid[]))
		select (select count(*) from rd r full join sd s using (user_id, day)
		        where (coalesce(r.pending, 0), coalesce(r.done, 0), coalesce(r.missed, 0))
		           <> (coalesce(s.pending, 0), coalesce(s.done, 0), coalesce(s.missed, 0))),
		       (select count(*) from rg r full join sg s using (goal_id)
		        where (coalesce(r.pending, 0), coalesce(r.done, 0), coalesce(r.missed, 0))
		           <> (coalesce(s.pending, 0), coalesce(s.done, 0), coalesce(s.missed, 0)))`,
		checked).Scan(&dayDiff, &goalDiff); err != nil {
		return err
	}
	if dayDiff > 0 || goalDiff > 0 {
		return fmt.Errorf("bench: the rollups disagree with a recount over public.tasks: %d day rows and %d goal rows of %d users differ",
			dayDiff, goalDiff, len(checked))
	}
	return nil
}
