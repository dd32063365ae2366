package service_test

// The traces of the service's units of work, exported over OTLP to a loopback receiver. The
// tracer provider is global, so these tests are not parallel: they run before the parallel
// ones start.

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/graph"
	"github.com/flux-companion/flux/agentsvc/llm"
	"github.com/flux-companion/flux/agentsvc/llmfake"
	"github.com/flux-companion/flux/internal/otlpfake"
	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/chat"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/logtest"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/listener/tracing"
	"github.com/flux-companion/flux/listener/tracing/tracingtest"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/sql/pgtest"
)

// The person of the trace tests: none of this may reach a span.
const (
	traceName  = "Zephyrine Quagmire-Holt"
	traceEmail = "zephyrine.qh@trace.flux.test"
	tracePhone = "+4915199988877"
	traceText  = "Quixotic-Marmalade"
)

const spanWait = 15 * time.Second

// A chat turn is one trace: from the claimed message through the agent's node and its model
// call (GenAI conventions) to the transaction that writes the reply, and the turn's log lines
// carry its trace id.
func TestTheTraceOfAChatTurn(t *testing.T) {
	spans := tracingtest.Export(t)
	ctx := context.Background()
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)

	var uid string
	if err := pool.QueryRow(ctx, `insert into auth.users (id, email, raw_user_meta_data)
		values (gen_random_uuid(), $1, '{"timezone": "Europe/Berlin"}') returning id::text`, traceEmail).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `update public.users set onboarded = true, phone_number = $2,
		profile = jsonb_build_object('name', $3::text, 'chronotype', 'morning') where id = $1`, uid, tracePhone, traceName); err != nil {
		t.Fatal(err)
	}
	// Noon in Berlin, so "at 5pm" is today.
	if _, err := pool.Exec(ctx, `select flux.set_time_warp(((now() at time zone 'Europe/Berlin')::date + time '12:00') at time zone 'Europe/Berlin' - now())`); err != nil {
		t.Fatal(err)
	}

	models, err := llmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(models.Close)
	models.Script(func(req llmfake.Request) llmfake.Reply {
		if graph.AgentOf(req.Messages[0].Content) == "orchestrator" {
			return llmfake.Reply{Content: `{"intent":"NEW_TASK","payload":"a reminder","clarification_question":"","task_id":"","goal_id":""}`}
		}
		return llmfake.Reply{Status: 400, Content: "unexpected agent"}
	})
	var logs logtest.Buffer
	log := slog.New(tracing.LogHandler(logs.Logger().Handler())) // as flux listen wraps its logger
	runService(t, service.Config{
		DatabaseURL: url, DisableHTTP: true, DisableDispatch: true,
		Slot:     newSlot("svc_trace_chat"),
		Dispatch: dispatch.Config{Owner: "trace-chat"},
		Agent:    &graph.Graph{Log: log, LLM: llm.New(llm.Config{APIKey: "test", BaseURL: models.URL(), Logger: log})},
		Chat:     chat.Config{Sweep: time.Hour},
		Log:      log,
	})

	conv := asUser(t, pool, uid, `insert into conversations default values returning id::text`)
	text := "Remind me to call " + traceName + " about the " + traceText + " order at 5pm"
	msg := asUser(t, pool, uid, `insert into messages (conversation_id, content) values ($1, $2) returning id::text`, conv, text)
	if got := reply(t, pool, conv); !strings.HasPrefix(got, "Reminder set:") {
		t.Fatalf("reply = %q", got)
	}

	turn := tracingtest.WaitSpan(t, spans, spanWait, "chat.turn", nil)
	trace := spans.Trace(turn.TraceID)
	route, err := llm.RouteFor(llm.Orchestrator, false)
	if err != nil {
		t.Fatal(err)
	}
	model := route.Primary
	want := "chat.turn\n  agentrun.load\n  agentrun.turn\n    agent.orchestrator\n      chat " + model + "\n  agentrun.apply\n"
	if got := otlpfake.Outline(trace); got != want {
		t.Errorf("the turn's trace:\n%s\nwant:\n%s", got, want)
	}
	if turn.ParentSpanID != "" || turn.Attributes["flux.message.id"] != msg || turn.Attributes["flux.conversation.id"] != conv ||
		turn.Attributes["flux.run.attempt"] != int64(1) || turn.Attributes["flux.outcome"] != "answered" {
		t.Errorf("chat.turn = %+v, want a root span with the message, the conversation and the attempt", turn)
	}
	if call, err := otlpfake.One(trace, "chat "+model); err != nil || call.Kind != "client" ||
		call.Attributes["gen_ai.request.model"] != model || call.Attributes["gen_ai.operation.name"] != "chat" {
		t.Errorf("model call span %+v (%v), want a GenAI client span", call, err)
	}
	if node, err := otlpfake.One(trace, "agent.orchestrator"); err != nil || node.Attributes["flux.agent.node"] != "orchestrator" {
		t.Errorf("node span %+v (%v)", node, err)
	}

	lines := logs.Lines("turn answered")
	if len(lines) != 1 || lines[0]["trace_id"] != turn.TraceID {
		t.Errorf("the turn's log line %v does not carry its trace id %s", lines, turn.TraceID)
	}
	tracingtest.NoPersonalData(t, spans.Spans(), traceName, "Zephyrine", traceEmail, tracePhone, traceText, text)
}

// An escalation rung is a claim and a send: escalation.claim, then the lease's
// dispatch.lease with the row's dispatch.send under it, the provider's request and the
// recorded outcome under that; the send links to the claim that queued it. A WhatsApp reply
// is a server span with the recorded answer under it.
func TestTheTracesOfARungAndItsAnswer(t *testing.T) {
	spans := tracingtest.Export(t)
	ctx := context.Background()
	l := newLadder(t, traceEmail, "Call "+traceName+" about "+traceText, tracePhone, "svc_trace_rung")
	pool, tw, sub, taskID, due := l.pool, l.tw, l.sub, l.taskID, l.due
	if _, err := pool.Exec(ctx, `update public.users set profile = jsonb_build_object('name', $1::text)`, traceName); err != nil {
		t.Fatal(err)
	}
	cfg := l.cfg
	runService(t, cfg)
	warp := func(at time.Time) { warpTo(t, pool, at) }
	sendOn := func(channel string) func(otlpfake.Span) bool {
		return func(sp otlpfake.Span) bool { return sp.Attributes["flux.channel"] == channel }
	}

	t.Run("push", func(t *testing.T) {
		warp(due.Add(-10 * time.Minute))
		send := tracingtest.WaitSpan(t, spans, spanWait, "dispatch.send", sendOn("push"))
		checkSend(t, spans, send, taskID, "webpush.send")
	})
	t.Run("whatsapp", func(t *testing.T) {
		warp(due.Add(2 * time.Minute))
		send := tracingtest.WaitSpan(t, spans, spanWait, "dispatch.send", sendOn("whatsapp"))
		checkSend(t, spans, send, taskID, "twilio.messages.create")
		// Twilio's status callbacks for the message: a server span each, with the status
		// recorded under it (a status on the way, such as queued, is not recorded).
		rec := tracingtest.WaitSpan(t, spans, spanWait, "delivery.record", nil)
		if got := otlpfake.Outline(spans.Trace(rec.TraceID)); got != "POST /webhooks/twilio/status\n  delivery.record\n" {
			t.Errorf("a status callback's trace:\n%s", got)
		}
		if rec.Attributes["flux.channel"] != "whatsapp" || rec.Attributes["flux.delivery.status"] == nil {
			t.Errorf("delivery.record %v", rec.Attributes)
		}
	})
	t.Run("webhook", func(t *testing.T) {
		params := twiliofake.WhatsAppReplyParams("whatsapp:"+tracePhone, "whatsapp:"+cfg.WhatsAppFrom, "1")
		resp, err := tw.SendWebhook(ctx, cfg.PublicBaseURL+"/webhooks/twilio/whatsapp", params)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("webhook %d", resp.StatusCode)
		}
		req := tracingtest.WaitSpan(t, spans, spanWait, "POST /webhooks/twilio/whatsapp", nil)
		if req.Kind != "server" || req.ParentSpanID != "" || req.Attributes["http.route"] != "/webhooks/twilio/whatsapp" ||
			req.Attributes["http.request.method"] != "POST" || req.Attributes["http.response.status_code"] != int64(200) ||
			req.Attributes["flux.task.id"] != taskID || req.Attributes["flux.result"] != "recorded" {
			t.Errorf("webhook span %+v", req)
		}
		trace := spans.Trace(req.TraceID)
		if got := otlpfake.Outline(trace); got != "POST /webhooks/twilio/whatsapp\n  answer.record\n" {
			t.Errorf("the webhook's trace:\n%s", got)
		}
		if rec, err := otlpfake.One(trace, "answer.record"); err != nil || rec.Attributes["flux.answer"] != "done" ||
			rec.Attributes["flux.task.id"] != taskID || rec.Attributes["flux.result"] != "recorded" {
			t.Errorf("answer.record %+v (%v)", rec, err)
		}
		pii := []string{traceName, traceEmail, tracePhone, strings.TrimPrefix(tracePhone, "+"), traceText,
			params.Get("MessageSid"), sub.Endpoint, sub.P256dh, sub.Auth}
		for _, m := range tw.Messages() {
			pii = append(pii, m.SID)
		}
		tracingtest.NoPersonalData(t, spans.Spans(), pii...)
	})
}

// checkSend checks a rung's send: under the lease that took its row, with the provider's
// request and the recorded outcome under it, linked to the claim that queued it.
func checkSend(t *testing.T, spans *otlpfake.Server, send otlpfake.Span, taskID, provider string) {
	t.Helper()
	testwait.For(t, "the lease's span", func() bool { return len(spans.Trace(send.TraceID)) >= 4 })
	trace := spans.Trace(send.TraceID)
	want := "dispatch.lease\n  dispatch.send\n    " + provider + "\n    dispatch.record\n"
	if got := otlpfake.Outline(trace); got != want {
		t.Errorf("the send's trace:\n%s\nwant:\n%s", got, want)
	}
	a := send.Attributes
	if a["flux.task.id"] != taskID || a["flux.stage"] != a["flux.channel"] || a["flux.attempt"] != int64(1) ||
		a["flux.outcome"] != "sent" || a["flux.dispatch.id"] == nil {
		t.Errorf("dispatch.send attributes %v", a)
	}
	if call, err := otlpfake.One(trace, provider); err != nil || call.Kind != "client" || call.ParentSpanID != send.SpanID {
		t.Errorf("%s = %+v (%v), want a client span under the send", provider, call, err)
	}
	if rec, err := otlpfake.One(trace, "dispatch.record"); err != nil || rec.Attributes["flux.outcome"] != "sent" || rec.Attributes["flux.rows"] == nil {
		t.Errorf("dispatch.record = %+v (%v)", rec, err)
	}
	// The claim that queued the row ran in this process: the send links to it.
	if len(send.Links) != 1 {
		t.Fatalf("dispatch.send links %v, want its claim", send.Links)
	}
	claims := slices.DeleteFunc(otlpfake.Named(spans.Spans(), "escalation.claim"), func(sp otlpfake.Span) bool {
		return sp.SpanID != send.Links[0].SpanID
	})
	if len(claims) != 1 || claims[0].TraceID != send.Links[0].TraceID || claims[0].ParentSpanID != "" ||
		claims[0].Attributes["flux.rungs.queued"] != int64(1) {
		t.Errorf("the send links to %v, want the escalation.claim span that queued it; claims: %v",
			send.Links[0], otlpfake.Named(spans.Spans(), "escalation.claim"))
	}
}
