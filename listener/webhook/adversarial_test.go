package webhook_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/listener/webhook"
)

// The webhooks under attack: forged, malformed, replayed (also late, and after the world moved
// on) and re-ordered requests, over every route the app registers. The oracle is the whole
// database: every row of every table, compared as to_jsonb text before and after. A refused
// request writes nothing; a replay changes nothing; a status never moves backwards.

// twilioRoutes lists the webhook routes of the app as it registers them, so a route added later
// is attacked too (and fails here until the suite knows a valid request for it).
func twilioRoutes(t *testing.T) []string {
	t.Helper()
	app := webhook.New(webhook.Config{AuthToken: token, PublicBaseURL: "http://127.0.0.1",
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	var out []string
	for _, r := range app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/webhooks/") {
			continue
		}
		if r.Method != fiber.MethodPost {
			t.Errorf("webhook route %s %s: Twilio posts; the suite knows no other method", r.Method, r.Path)
			continue
		}
		if !slices.Contains(out, r.Path) {
			out = append(out, r.Path)
		}
	}
	sort.Strings(out)
	if len(out) < 3 {
		t.Fatalf("found only the webhook routes %v", out)
	}
	return out
}

// hook is one webhook request: the path and query Twilio calls, and its form.
type hook struct {
	target string
	params url.Values
}

func (h hook) clone() hook {
	p := url.Values{}
	for k, v := range h.params {
		p[k] = slices.Clone(v)
	}
	return hook{h.target, p}
}

func (h hook) with(key, value string) hook {
	c := h.clone()
	c.params.Set(key, value)
	return c
}

func (h hook) without(key string) hook {
	c := h.clone()
	c.params.Del(key)
	return c
}

// validHook is a request each route accepts and acts on (so that refusing a variant of it means
// something). A route without one fails the suite: add it here, with its fields below.
func (e *env) validHook(t *testing.T, route string) hook {
	t.Helper()
	switch route {
	case "/webhooks/twilio/whatsapp":
		return hook{route, twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "1")}
	case "/webhooks/twilio/voice":
		return hook{route + "?task=" + e.taskID, twiliofake.VoiceGatherParams(callSID, phone, "+15005550006", "1")}
	case "/webhooks/twilio/status":
		return hook{route, messageStatus(whatsAppSID, "failed", "63016")}
	}
	t.Fatalf("route %s: the suite has no valid request for it; add one to validHook and its fields to malformedFields", route)
	return hook{}
}

// rawRequest is a request as sent, byte for byte where it matters.
type rawRequest struct {
	method      string // default POST
	target      string
	contentType string   // none when empty
	body        string   // as sent
	sigs        []string // X-Twilio-Signature headers, in order
}

// signed is h as Twilio sends it: form-encoded, signed with the auth token over the URL and every
// value of every param.
func (e *env) signed(h hook) rawRequest {
	return rawRequest{target: h.target, contentType: "application/x-www-form-urlencoded",
		body: h.params.Encode(), sigs: []string{e.sig(token, h.target, h.params)}}
}

func (e *env) sig(key, target string, params url.Values) string {
	return twiliofake.Signature(key, e.base+target, params)
}

func (e *env) send(t *testing.T, r rawRequest) (int, string) {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, e.base+r.target, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for _, s := range r.sigs {
		req.Header.Add("X-Twilio-Signature", s)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dbState is every row of every table in every schema but the system catalogs, as
// to_jsonb(row)::text, sorted per table.
type dbState map[string][]string

func (e *env) snapshot(t *testing.T) dbState {
	t.Helper()
	ctx := context.Background()
	s := dbState{}
	err := pgx.BeginTxFunc(ctx, e.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			select format('%I.%I', n.nspname, c.relname)
			from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
			where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
			  and n.nspname !~ '^pg_(toast_)?temp_'`)
		if err != nil {
			return err
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, tbl := range tables {
			rows, err := tx.Query(ctx, `select to_jsonb(t)::text from `+tbl+` t`)
			if err != nil {
				return fmt.Errorf("%s: %w", tbl, err)
			}
			texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("%s: %w", tbl, err)
			}
			sort.Strings(texts)
			s[tbl] = texts
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s["public.tasks"]) == 0 || len(s["flux.clock"]) == 0 {
		t.Fatalf("the snapshot misses the schema: %d tables", len(s))
	}
	return s
}

// diff lists the rows that went (-) and came (+), per table.
func (a dbState) diff(b dbState) []string {
	var out []string
	tables := map[string]bool{}
	for tbl := range a {
		tables[tbl] = true
	}
	for tbl := range b {
		tables[tbl] = true
	}
	for _, tbl := range slices.Sorted(maps.Keys(tables)) {
		left := map[string]int{}
		for _, r := range a[tbl] {
			left[r]++
		}
		for _, r := range b[tbl] {
			if left[r] > 0 {
				left[r]--
				continue
			}
			out = append(out, tbl+" + "+r)
		}
		for _, r := range a[tbl] {
			if left[r] > 0 {
				left[r]--
				out = append(out, tbl+" - "+r)
			}
		}
	}
	return out
}

// unchanged fails the test when the database differs from before.
func (e *env) unchanged(t *testing.T, before dbState, what string) {
	t.Helper()
	if d := before.diff(e.snapshot(t)); len(d) > 0 {
		t.Errorf("%s changed the database (%d rows went or came):\n  %s", what, len(d), strings.Join(d[:min(len(d), 6)], "\n  "))
	}
}

// --- forged ---------------------------------------------------------------------------------

// A request not signed by Twilio over exactly what it carries is refused with 403 and writes
// nothing, whatever part of it was forged.
func TestAdversarialForgedRequests(t *testing.T) {
	t.Parallel()
	routes := twilioRoutes(t)
	for _, route := range routes {
		t.Run(strings.TrimPrefix(route, "/webhooks/"), func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			h := e.validHook(t, route)
			good := e.signed(h)
			valid := good.sigs[0]
			forge := func(sigs ...string) rawRequest {
				r := good
				r.sigs = sigs
				return r
			}
			flipped := []byte(valid)
			flipped[3] ^= 1
			cases := map[string]rawRequest{
				"unsigned":                 forge(),
				"empty signature":          forge(""),
				"not base64":               forge("!!!not*base64!!!"),
				"base64 of other bytes":    forge("c29tZXRoaW5n"),
				"a bit flipped":            forge(string(flipped)),
				"lower-cased":              forge(strings.ToLower(valid)),
				"signature twice, padded":  forge(valid + valid),
				"another token":            forge(e.sig("forgedtoken0123456789abcdef01234", h.target, h.params)),
				"an empty token":           forge(e.sig("", h.target, h.params)),
				"another host":             forge(twiliofake.Signature(token, "https://flux.example.com"+h.target, h.params)),
				"another scheme":           forge(twiliofake.Signature(token, "https"+strings.TrimPrefix(e.base, "http")+h.target, h.params)),
				"another query":            forge(e.sig(token, h.target+"&x=1", h.params)),
				"no params signed":         forge(e.sig(token, h.target, nil)),
				"duplicate, forged first":  forge("c29tZXRoaW5n", valid),
				"duplicate, forged second": forge(valid, "c29tZXRoaW5n"),
				"duplicate, both valid":    forge(valid, valid),
			}
			for _, other := range routes {
				if other != route {
					cases["signed for "+other] = forge(e.sig(token, e.validHook(t, other).target, h.params))
				}
			}
			if strings.Contains(h.target, "?") {
				path, _, _ := strings.Cut(h.target, "?")
				cases["signed without the query"] = forge(e.sig(token, path, h.params))
			}
			// The body changed after signing: each param changed, dropped, or one added.
			for k := range h.params {
				changed := e.signed(h)
				changed.body = h.with(k, h.params.Get(k)+"0").params.Encode()
				cases["changed "+k] = changed
				dropped := e.signed(h)
				dropped.body = h.without(k).params.Encode()
				cases["dropped "+k] = dropped
			}
			added := e.signed(h)
			added.body = h.with("Extra", "1").params.Encode()
			cases["added a param"] = added

			before := e.snapshot(t)
			for _, name := range slices.Sorted(maps.Keys(cases)) {
				if code, body := e.send(t, cases[name]); code != http.StatusForbidden {
					t.Errorf("%s: %d %q, want 403", name, code, body)
				}
			}
			e.unchanged(t, before, "a forged request")

			// The control: the genuine request is taken, and writes.
			if code, body := e.send(t, good); code/100 != 2 {
				t.Fatalf("the genuine request: %d %q", code, body)
			}
			if len(before.diff(e.snapshot(t))) == 0 {
				t.Fatal("the genuine request wrote nothing: the refusals above prove nothing")
			}
		})
	}
}

// Refused requests to paths of the app's choosing are counted under a bounded set of kinds: a
// metric label taken from the path would let anyone grow the registry, one series per request.
func TestAdversarialRefusedRequestsKeepMetricsBounded(t *testing.T) {
	t.Parallel()
	e := setup(t)
	before := e.snapshot(t)
	for i := 0; i < 20; i++ {
		for _, path := range []string{
			fmt.Sprintf("/webhooks/twilio/x%d", i),
			fmt.Sprintf("/webhooks/twilio/WhatsApp%d/", i),
			fmt.Sprintf("/webhooks/twilio/voice/%d", i),
		} {
			code, _ := e.send(t, rawRequest{target: path, contentType: "application/x-www-form-urlencoded",
				body: "Body=1", sigs: []string{"c29tZXRoaW5n"}})
			if code/100 != 4 {
				t.Errorf("%s: %d, want 4xx", path, code)
			}
		}
	}
	e.unchanged(t, before, "a request to an unknown path")
	allowed := map[string]bool{"other": true}
	for _, r := range twilioRoutes(t) {
		allowed[r[strings.LastIndex(r, "/")+1:]] = true
	}
	_, metrics := e.get(t, "/metrics")
	kinds := regexp.MustCompile(`flux_webhooks_total\{kind="([^"]*)"`).FindAllStringSubmatch(metrics, -1)
	if len(kinds) == 0 {
		t.Fatalf("no webhook counted:\n%s", grep(metrics, "flux_webhooks"))
	}
	for _, m := range kinds {
		if !allowed[m[1]] {
			t.Errorf("webhook counted under kind %q (want one of %v)", m[1], slices.Sorted(maps.Keys(allowed)))
		}
	}
}

// --- malformed ------------------------------------------------------------------------------

// field is a param (or, with query set, the query parameter) a route reads, with values it must
// refuse.
type field struct {
	name  string
	query bool
	bad   []string
}

// malformedFields are what each route reads and must refuse when odd: NUL, invalid UTF-8,
// over-long, empty, or of the wrong shape.
func malformedFields(route string) []field {
	long := strings.Repeat("a", 5000)
	switch route {
	case "/webhooks/twilio/whatsapp":
		return []field{
			{name: "From", bad: []string{"", "whatsapp:", "whatsapp:" + phone + "\x00", "whatsapp:+49151\xff\xfe0077",
				"whatsapp:+" + strings.Repeat("1", 300), "whatsapp:+0151000077", "whatsapp: " + phone, "sms:" + phone, long}},
			{name: "MessageSid", bad: []string{"", "SM1", whatsAppSID + "\x00", "SM\xff" + strings.Repeat("a", 31),
				"SM" + strings.Repeat("a", 300), "SM" + strings.Repeat("A", 32), callSID, long}},
		}
	case "/webhooks/twilio/voice":
		return []field{
			{name: "CallSid", bad: []string{"", "CA1", callSID + "\x00", "CA\xc3\x28" + strings.Repeat("c", 30),
				"CA" + strings.Repeat("b", 300), whatsAppSID, long}},
			{name: "task", query: true, bad: []string{"", "not-a-uuid", strings.ToUpper("0f0e0d0c-0b0a-4908-8706-050403020100"),
				"0f0e0d0c-0b0a-4908-8706-050403020100\x00", "0f0e0d0c-0b0a-4908-8706-050403020100 ", long}},
		}
	case "/webhooks/twilio/status":
		return []field{
			{name: "MessageSid", bad: []string{"SM1", whatsAppSID + "\x00", "SM\xff" + strings.Repeat("a", 31), "SM" + strings.Repeat("a", 300), long}},
			{name: "MessageStatus", bad: []string{"", "exploded", "failed\x00", "FAILED", "fail\xffed", long}},
			{name: "ErrorCode", bad: []string{"x", "-1", "123456", "1e3", "63016\x00", strings.Repeat("9", 400)}},
		}
	}
	return nil
}

// required are the params without which a route cannot act.
var required = map[string][]string{
	"/webhooks/twilio/whatsapp": {"From", "MessageSid"},
	"/webhooks/twilio/voice":    {"CallSid"},
	"/webhooks/twilio/status":   {"MessageStatus"},
}

// Signed, so that only the oddity can be the reason: every malformed request is answered 4xx,
// never 5xx, and writes nothing.
func TestAdversarialMalformedRequests(t *testing.T) {
	t.Parallel()
	for _, route := range twilioRoutes(t) {
		t.Run(strings.TrimPrefix(route, "/webhooks/"), func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			h := e.validHook(t, route)
			fields := malformedFields(route)
			if len(fields) == 0 {
				t.Fatalf("no malformed fields known for %s: add them to malformedFields", route)
			}
			type tc struct {
				name string
				req  rawRequest
			}
			var cases []tc
			add := func(name string, r rawRequest) { cases = append(cases, tc{name, r}) }
			// signedRaw signs the params body parses to (every value, as Twilio does), so the
			// signature is right for whatever the body says.
			signedRaw := func(body string) rawRequest {
				p, err := url.ParseQuery(body)
				if err != nil {
					t.Fatalf("%q: %v", body, err)
				}
				r := e.signed(h)
				r.body, r.sigs = body, []string{e.sig(token, h.target, p)}
				return r
			}

			for _, ct := range []string{"", "application/json", "text/plain", "multipart/form-data; boundary=x", "text/xml"} {
				r := e.signed(h)
				r.contentType = ct
				add("content type "+ct, r)
			}
			for name, tail := range map[string]string{
				"truncated escape": "&Body=%4", "invalid escape": "&Body=%zz", "lone percent": "&Body=%",
				"semicolon separator": ";Body=1",
			} {
				r := e.signed(h)
				r.body += tail
				add(name, r)
			}
			add("json body", signedRaw(`{"Body":"1"}`))
			for _, k := range required[route] {
				add("missing "+k, e.signed(h.without(k)))
			}
			for _, f := range fields {
				for _, v := range f.bad {
					name := fmt.Sprintf("%s=%.40q", f.name, v)
					if f.query {
						path, _, _ := strings.Cut(h.target, "?")
						add(name, e.signed(hook{path + "?" + f.name + "=" + url.QueryEscape(v), h.params}))
						continue
					}
					add(name, e.signed(h.with(f.name, v)))
				}
			}
			// A repeated param signed as Twilio signs one (every value): the check reads a name's
			// first value only (webhook.signed), so this signature does not verify.
			var polluted []tc
			for k := range h.params {
				dup := h.clone()
				dup.params.Add(k, "x"+h.params.Get(k))
				add("repeated "+k+", all values signed", e.signed(dup))
				// A second value added to a signed request by someone without the key: nothing
				// reads it, so it is the signed request itself (tried below, as its replay).
				r := e.signed(h)
				r.body = dup.params.Encode()
				polluted = append(polluted, tc{"repeated " + k + ", first value signed", r})
			}
			get := e.signed(hook{h.target, nil})
			get.method, get.body = http.MethodGet, ""
			add("GET", get)

			before := e.snapshot(t)
			for _, c := range cases {
				code, body := e.send(t, c.req)
				if code/100 != 4 {
					t.Errorf("%s: %d %.80q, want 4xx", c.name, code, body)
				}
			}
			if code := e.declareOversizedBody(t, route, 70<<10); code != http.StatusRequestEntityTooLarge {
				t.Errorf("declared body over the limit: %d, want 413", code)
			}
			if code := e.oversizedChunk(t, route, 70<<10); code != http.StatusRequestEntityTooLarge {
				t.Errorf("chunk over the limit: %d, want 413", code)
			}
			e.unchanged(t, before, "a malformed request")
			if code, body := e.send(t, e.signed(h)); code/100 != 2 {
				t.Fatalf("the well-formed request: %d %q", code, body)
			}
			before = e.snapshot(t)
			for _, c := range polluted {
				if code, body := e.send(t, c.req); code/100 == 5 {
					t.Errorf("%s: %d %.80q", c.name, code, body)
				}
			}
			e.unchanged(t, before, "a signed request with unsigned values added, after the request")
		})
	}
}

// Keys pressed during a call that are no answer ("12", a NUL, a long string) get the spoken
// "did not catch that" (a 4xx would make Twilio play an application error to the caller), and
// write nothing. A WhatsApp Body is free text that is never stored, so it is not among these.
func TestAdversarialOddDigitsWriteNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	h := e.validHook(t, "/webhooks/twilio/voice")
	before := e.snapshot(t)
	for _, d := range []string{"", "12", "\x00", "1\x00", "\xff", "#", "*", "١", strings.Repeat("1", 5000)} {
		code, body := e.send(t, e.signed(h.with("Digits", d)))
		if code != http.StatusOK || !strings.Contains(body, "did not catch that") {
			t.Errorf("Digits %.20q: %d %q", d, code, body)
		}
	}
	e.unchanged(t, before, "an odd key")
}

// --- replayed -------------------------------------------------------------------------------

// replayCase is a first delivery; its replays must change nothing, whenever they come.
type replayCase struct {
	route   string
	name    string
	prepare func(t *testing.T, e *env) // the state before the first delivery
	hook    func(e *env) hook
}

func whatsAppSays(text string) func(e *env) hook {
	p := twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", text)
	return func(*env) hook { return hook{"/webhooks/twilio/whatsapp", p} }
}

func keyPressed(digit string) func(e *env) hook {
	return func(e *env) hook {
		return hook{"/webhooks/twilio/voice?task=" + e.taskID, twiliofake.VoiceGatherParams(callSID, phone, "+15005550006", digit)}
	}
}

func statusSays(p url.Values) func(e *env) hook {
	return func(*env) hook { return hook{"/webhooks/twilio/status", p} }
}

func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

var replayCases = []replayCase{
	{route: "/webhooks/twilio/whatsapp", name: "done", hook: whatsAppSays("1")},
	{route: "/webhooks/twilio/whatsapp", name: "reschedule", hook: whatsAppSays("2")},
	{route: "/webhooks/twilio/whatsapp", name: "missed", hook: whatsAppSays("3")},
	{route: "/webhooks/twilio/whatsapp", name: "snooze", hook: whatsAppSays("4")},
	{route: "/webhooks/twilio/whatsapp", name: "snooze at the limit", hook: whatsAppSays("4"),
		prepare: func(t *testing.T, e *env) { e.exec(t, `update public.tasks set snooze_count = 3`) }},
	{route: "/webhooks/twilio/whatsapp", name: "unrecognised", hook: whatsAppSays("maybe later")},
	{route: "/webhooks/twilio/whatsapp", name: "stop", hook: whatsAppSays("STOP")},
	{route: "/webhooks/twilio/whatsapp", name: "no reminder waiting", hook: whatsAppSays("1"),
		prepare: func(t *testing.T, e *env) { e.exec(t, `update public.notification_log set response = 'no_response'`) }},
	{route: "/webhooks/twilio/whatsapp", name: "task already settled", hook: whatsAppSays("1"),
		prepare: func(t *testing.T, e *env) {
			// The reminder still waits (no answer on it), but its task was settled elsewhere.
			e.exec(t, `update public.tasks set status = 'cancelled'`)
		}},
	{route: "/webhooks/twilio/whatsapp", name: "stranger", hook: func(*env) hook {
		return hook{"/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:+4915199999999", "whatsapp:+15005550006", "1")}
	}},
	{route: "/webhooks/twilio/voice", name: "done", hook: keyPressed("1")},
	{route: "/webhooks/twilio/voice", name: "reschedule", hook: keyPressed("2")},
	{route: "/webhooks/twilio/voice", name: "snooze", hook: keyPressed("4")},
	{route: "/webhooks/twilio/voice", name: "snooze at the limit", hook: keyPressed("4"),
		prepare: func(t *testing.T, e *env) { e.exec(t, `update public.tasks set snooze_count = 3`) }},
	{route: "/webhooks/twilio/voice", name: "unrecognised key", hook: keyPressed("9")},
	{route: "/webhooks/twilio/voice", name: "unknown task", hook: func(*env) hook {
		return hook{"/webhooks/twilio/voice?task=0f0e0d0c-0b0a-4908-8706-050403020100", twiliofake.VoiceGatherParams(callSID, phone, "+15005550006", "1")}
	}},
	{route: "/webhooks/twilio/status", name: "delivered", hook: statusSays(messageStatus(whatsAppSID, "delivered", ""))},
	{route: "/webhooks/twilio/status", name: "failed moves the ladder", hook: statusSays(messageStatus(whatsAppSID, "failed", "63016")),
		prepare: func(t *testing.T, e *env) { e.ladderWaitsOn(t, "call") }},
	{route: "/webhooks/twilio/status", name: "call no-answer", hook: statusSays(callStatus(callSID, "no-answer")),
		prepare: func(t *testing.T, e *env) { e.ladderWaitsOn(t, "auto_miss") }},
	{route: "/webhooks/twilio/status", name: "early", hook: statusSays(messageStatus("SM"+strings.Repeat("ab", 16), "delivered", ""))},
	{route: "/webhooks/twilio/status", name: "transient", hook: statusSays(messageStatus(whatsAppSID, "queued", ""))},
}

// What happens between a first delivery and its replays: the replay must change nothing after
// any of it (Twilio retries late; a captured request can be sent at any time).
var betweenReplays = []struct {
	name string
	do   func(t *testing.T, e *env)
}{
	{"at once", func(*testing.T, *env) {}},
	{"after a new reminder started waiting", func(t *testing.T, e *env) {
		e.exec(t, `
			with t as (
			  insert into public.tasks (user_id, title, scheduled_at)
			  select user_id, 'Water the plants', flux.now() from public.tasks where id = $1
			  returning id, user_id)
			insert into public.notification_log (user_id, task_id, channel, external_id, sent_at)
			select user_id, id, 'whatsapp'::public.notification_channel, 'SM' || md5(id::text), flux.now() + interval '1 hour' from t
			union all
			select user_id, id, 'call', 'CA' || md5(id::text), flux.now() + interval '1 hour' from t`, e.taskID)
	}},
	{"after the task was answered in the app", func(t *testing.T, e *env) {
		e.exec(t, `select flux.record_response($1::uuid, 'done', 'push')`, e.taskID)
	}},
	{"after later status callbacks", func(t *testing.T, e *env) {
		for _, p := range []url.Values{messageStatus(whatsAppSID, "read", ""), callStatus(callSID, "completed")} {
			if code, body := e.post(t, e.twilio, "/webhooks/twilio/status", p); code/100 != 2 {
				t.Fatalf("%v: %d %s", p, code, body)
			}
		}
	}},
	{"a day later", func(t *testing.T, e *env) {
		e.exec(t, `update flux.clock set warp = warp + interval '1 day'`)
	}},
}

// A replayed request (Twilio's retry of a request whose answer timed out, or anyone's copy of a
// signed request) is answered 2xx and changes no row, at once and after the world moved on.
func TestAdversarialReplays(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, c := range replayCases {
		covered[c.route] = true
	}
	for _, route := range twilioRoutes(t) {
		if !covered[route] {
			t.Errorf("route %s has no replay case: add some to replayCases", route)
		}
	}
	for _, c := range replayCases {
		t.Run(strings.TrimPrefix(c.route, "/webhooks/twilio/")+"/"+c.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			if c.prepare != nil {
				c.prepare(t, e)
			}
			first := e.signed(c.hook(e))
			code, answer := e.send(t, first)
			if code/100 != 2 {
				t.Fatalf("first delivery: %d %q", code, answer)
			}
			for _, b := range betweenReplays {
				b.do(t, e)
				before := e.snapshot(t)
				code, again := e.send(t, first)
				if code/100 != 2 {
					t.Errorf("replay %s: %d %q, want 2xx", b.name, code, again)
				}
				if b.name == "at once" && again != answer {
					t.Errorf("replay at once answered %q, the first delivery %q", again, answer)
				}
				e.unchanged(t, before, "the replay "+b.name)
			}
		})
	}
}

// Twilio retries a request whose answer is slow while the first may still be running: copies
// sent at once act once.
func TestAdversarialConcurrentCopies(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"1", "4", "2"} {
		t.Run(text, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			req := e.signed(whatsAppSays(text)(e))
			var wg sync.WaitGroup
			codes := make([]int, 8)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i], _ = e.send(t, req)
				}()
			}
			wg.Wait()
			for i, c := range codes {
				if c/100 != 2 {
					t.Errorf("copy %d: %d", i, c)
				}
			}
			var receipts, answered, snoozes, runs int
			if err := e.pool.QueryRow(context.Background(), `
				select (select count(*) from flux.webhook_receipts),
				       (select count(*) from public.notification_log where response is not null),
				       (select snooze_count from public.tasks where id = $1),
				       (select count(*) from flux.agent_runs)`, e.taskID).Scan(&receipts, &answered, &snoozes, &runs); err != nil {
				t.Fatal(err)
			}
			wantSnoozes, wantRuns := 0, 0
			switch text {
			case "4":
				wantSnoozes = 1
			case "2":
				wantRuns = 1
			}
			if receipts != 1 || answered != 1 || snoozes != wantSnoozes || runs != wantRuns {
				t.Errorf("8 copies at once: %d receipts, %d answers, %d snoozes, %d agent runs; want 1, 1, %d, %d",
					receipts, answered, snoozes, runs, wantSnoozes, wantRuns)
			}
		})
	}
}

// --- re-ordered status callbacks ------------------------------------------------------------

// deliveryOrder is public.delivery_status's order: a status replaces only an earlier one, and
// nothing replaces one from "completed" on (flux.apply_delivery).
var deliveryOrder = []string{"queued", "initiated", "ringing", "sent", "in-progress", "delivered", "read",
	"completed", "undelivered", "failed", "busy", "no-answer", "canceled"}

func rank(status string) int { return slices.Index(deliveryOrder, status) }

// Callbacks come in any order (Twilio does not promise one) and any number of times: the
// recorded status never goes backwards, ends where the rule says, a stale one writes nothing,
// and a failure moves the ladder once at most.
func TestAdversarialReorderedStatusCallbacks(t *testing.T) {
	t.Parallel()
	for _, ch := range []struct {
		name, sid, waitsOn string
		statuses           []string // every order of these is sent
		failures           []string // what reached nobody: the next rung is due now
		extra              [][]string
		params             func(sid, status string) url.Values
	}{
		{"whatsapp", whatsAppSID, "call", []string{"sent", "delivered", "read", "undelivered", "failed"},
			[]string{"undelivered", "failed"},
			[][]string{{"delivered", "sent", "queued"}, {"read", "delivered"}, {"delivered", "failed"}, {"read", "failed", "undelivered"},
				{"queued", "failed", "queued", "sent"}, {"canceled", "failed", "read"}, {"failed", "failed", "failed"}},
			func(sid, st string) url.Values {
				if st == "failed" {
					return messageStatus(sid, st, "63016")
				}
				return messageStatus(sid, st, "")
			}},
		{"call", callSID, "auto_miss", []string{"initiated", "ringing", "in-progress", "completed", "no-answer"},
			[]string{"no-answer", "busy", "failed", "canceled"},
			[][]string{{"completed", "ringing", "queued"}, {"in-progress", "busy"}, {"busy", "no-answer", "failed", "canceled"},
				{"failed", "completed"}, {"ringing", "canceled"}, {"no-answer", "no-answer"}},
			callStatus},
	} {
		t.Run(ch.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			sequences := append(permutations(ch.statuses), ch.extra...)
			for _, seq := range sequences {
				// A fresh ladder waiting on the next rung, and nothing recorded on the send.
				e.exec(t, `update public.notification_log set delivery_status = null, delivery_error_code = null,
					delivery_updated_at = null, sent_at = flux.now() where external_id = $1`, ch.sid)
				waiting := e.ladderWaitsOn(t, ch.waitsOn)
				want, moves, prev := "", 0, ""
				for _, st := range seq {
					// The rule of flux.apply_delivery: first status, or a later one while not final.
					recorded := !transientStatus(st) &&
						(want == "" || (rank(want) < rank("completed") && rank(want) < rank(st)))
					var before dbState
					if !recorded {
						before = e.snapshot(t)
					}
					if code, body := e.post(t, e.twilio, "/webhooks/twilio/status", ch.params(ch.sid, st)); code != http.StatusNoContent {
						t.Fatalf("%v: %s: %d %s", seq, st, code, body)
					}
					if recorded {
						want = st
					} else {
						e.unchanged(t, before, fmt.Sprintf("%v: %s after %s", seq, st, want))
					}
					got, _ := e.delivery(t, ch.sid)
					if got != want {
						t.Errorf("%v: after %s the status is %q, want %q", seq, st, got, want)
					}
					if prev != "" && rank(got) < rank(prev) {
						t.Errorf("%v: the status went back from %s to %s", seq, prev, got)
					}
					prev = got
					if due := e.dueAt(t); !due.Equal(waiting) {
						moves++
						waiting = due
					}
				}
				wantMoves := 0
				if slices.Contains(ch.failures, want) {
					wantMoves = 1
				}
				if moves != wantMoves {
					t.Errorf("%v: the ladder moved %d times, want %d (ends %s)", seq, moves, wantMoves, want)
				}
				if t.Failed() {
					return // one broken order says it; hundreds would bury it
				}
			}
			t.Logf("%d orders of %s callbacks", len(sequences), ch.name)
		})
	}
}

// transientStatus: statuses the webhook answers without recording (webhook.go, transient).
func transientStatus(st string) bool {
	switch st {
	case "accepted", "scheduled", "queued", "sending", "receiving", "received":
		return true
	}
	return false
}

func permutations(s []string) [][]string {
	if len(s) <= 1 {
		return [][]string{slices.Clone(s)}
	}
	var out [][]string
	for i := range s {
		rest := append(slices.Clone(s[:i]), s[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]string{s[i]}, p...))
		}
	}
	return out
}
