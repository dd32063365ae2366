// Package metrics exposes what an on-call engineer watches: how deep the outbox is and how late
// its oldest row, how late reminders go out (due-to-dispatch lag), dispatch outcomes per
// channel, rungs claimed, webhook results, and the delivery statuses providers report.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flux-companion/flux/sql/store"
)

// Metrics is the listener's registry.
type Metrics struct {
	Registry *prometheus.Registry
	attempts *prometheus.CounterVec
	lag      *prometheus.HistogramVec
	claimed  prometheus.Counter
	webhooks *prometheus.CounterVec
	delivery *prometheus.CounterVec
}

// New registers Flux's metrics. The gauges of the outbox, the agent runs, the replication slot
// (slot) and the pg_cron jobs are read from the database at scrape time, so an idle listener
// runs no queries of its own for them.
func New(s *store.Store, slot string, log *slog.Logger) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		attempts: counters("flux_dispatch_attempts_total", "Dispatch attempts by channel and outcome (sent, retry, failed).", "channel", "outcome"),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flux_dispatch_lag_seconds",
			Help:    "From the rung's due time to the recorded send.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"channel"}),
		claimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flux_escalation_rungs_claimed_total",
			Help: "Escalation rungs taken by this process's claims.",
		}),
		webhooks: counters("flux_webhooks_total", "Twilio webhooks by kind and result.", "kind", "result"),
		delivery: counters("flux_delivery_status_total", "Delivery statuses recorded from Twilio's status callbacks, by channel "+
			"(whatsapp, call) and status (delivered, read, failed, undelivered, completed, no-answer, busy...).", "channel", "status"),
	}
	m.Registry.MustRegister(m.attempts, m.lag, m.claimed, m.webhooks, m.delivery,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&database{store: s, slot: slot, log: log})
	return m
}

func counters(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// Attempt implements dispatch.Observer.
func (m *Metrics) Attempt(channel string, outcome store.Outcome, lag time.Duration) {
	m.attempts.WithLabelValues(channel, string(outcome)).Inc()
	if outcome == store.Sent {
		m.lag.WithLabelValues(channel).Observe(lag.Seconds())
	}
}

// Claimed counts rungs taken by a claim.
func (m *Metrics) Claimed(n int) { m.claimed.Add(float64(n)) }

// Webhook counts a Twilio webhook (kind whatsapp|voice; result recorded, duplicate, forbidden...).
func (m *Metrics) Webhook(kind, result string) { m.webhooks.WithLabelValues(kind, result).Inc() }

// Delivery counts a delivery status recorded from a status callback (replays are not counted).
func (m *Metrics) Delivery(channel, status string) { m.delivery.WithLabelValues(channel, status).Inc() }

// Handler serves the registry for Prometheus.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// database reads, at scrape time, what the alerting rules watch: the outbox's depth, the agent
// runs waiting, the change feed's slot (the one part of Flux that can hurt the database: a slot
// nobody reads keeps WAL) and the last run of each Flux pg_cron job.
type database struct {
	store *store.Store
	slot  string
	log   *slog.Logger
}

var (
	depthDesc     = prometheus.NewDesc("flux_outbox_pending", "Outbox rows waiting to be sent.", nil, nil)
	oldDesc       = prometheus.NewDesc("flux_outbox_oldest_pending_seconds", "How long the oldest pending outbox row has been due.", nil, nil)
	runsDesc      = prometheus.NewDesc("flux_agent_runs_waiting", "Chat messages waiting for an agent run.", nil, nil)
	runsAgeDesc   = prometheus.NewDesc("flux_agent_runs_oldest_waiting_seconds", "How long the oldest waiting agent run has waited.", nil, nil)
	slotDesc      = prometheus.NewDesc("flux_replication_slot_retained_bytes", "WAL the change feed's slot keeps the server from recycling.", []string{"slot"}, nil)
	slotLagDesc   = prometheus.NewDesc("flux_replication_slot_confirmed_lag_bytes", "How far the slot's confirmed position trails the server's WAL.", []string{"slot"}, nil)
	slotStateDesc = prometheus.NewDesc("flux_replication_slot_status", "1 for the slot's wal_status (reserved, extended, unreserved, lost; missing: no slot).", []string{"slot", "status"}, nil)
	cronOKDesc    = prometheus.NewDesc("flux_cron_job_last_run_succeeded", "1 when the Flux pg_cron job's latest run succeeded, 0 when it failed (absent before a first run).", []string{"job"}, nil)
	cronEndDesc   = prometheus.NewDesc("flux_cron_job_last_run_end_timestamp_seconds", "When the Flux pg_cron job's latest run ended.", []string{"job"}, nil)
)

func (d *database) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{depthDesc, oldDesc, runsDesc, runsAgeDesc, slotDesc, slotLagDesc, slotStateDesc, cronOKDesc, cronEndDesc} {
		ch <- desc
	}
}

func (d *database) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, age, err := d.store.OutboxDepth(ctx); err != nil {
		d.log.Error("metrics: outbox depth", "error", err)
	} else {
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n))
		ch <- prometheus.MustNewConstMetric(oldDesc, prometheus.GaugeValue, max(age.Seconds(), 0))
	}
	if n, age, err := d.store.AgentBacklog(ctx); err != nil {
		d.log.Error("metrics: agent backlog", "error", err)
	} else {
		ch <- prometheus.MustNewConstMetric(runsDesc, prometheus.GaugeValue, float64(n))
		ch <- prometheus.MustNewConstMetric(runsAgeDesc, prometheus.GaugeValue, max(age.Seconds(), 0))
	}
	if d.slot != "" {
		if h, err := d.store.SlotHealth(ctx, d.slot); err != nil {
			d.log.Error("metrics: replication slot", "error", err)
		} else {
			status := h.WALStatus
			if !h.Exists {
				status = "missing"
			}
			for _, s := range []string{"reserved", "extended", "unreserved", "lost", "missing"} {
				ch <- prometheus.MustNewConstMetric(slotStateDesc, prometheus.GaugeValue, one(s == status), d.slot, s)
			}
			if h.Exists {
				ch <- prometheus.MustNewConstMetric(slotDesc, prometheus.GaugeValue, h.RetainedBytes, d.slot)
				ch <- prometheus.MustNewConstMetric(slotLagDesc, prometheus.GaugeValue, h.LagBytes, d.slot)
			}
		}
	}
	runs, err := d.store.CronRuns(ctx)
	if err != nil {
		d.log.Error("metrics: pg_cron jobs", "error", err)
	}
	for _, r := range runs {
		if r.Ended == nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(cronOKDesc, prometheus.GaugeValue, one(r.Succeeded), r.Job)
		ch <- prometheus.MustNewConstMetric(cronEndDesc, prometheus.GaugeValue, *r.Ended, r.Job)
	}
}

// one is a gauge's 1 for true, 0 for false.
func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
