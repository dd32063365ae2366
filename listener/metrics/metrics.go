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

// New registers Flux's metrics. The outbox gauges are read from the database at scrape time, so
// an idle listener runs no queries of its own for them.
func New(s *store.Store, log *slog.Logger) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flux_dispatch_attempts_total",
			Help: "Dispatch attempts by channel and outcome (sent, retry, failed).",
		}, []string{"channel", "outcome"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flux_dispatch_lag_seconds",
			Help:    "From the rung's due time to the recorded send.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"channel"}),
		claimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flux_escalation_rungs_claimed_total",
			Help: "Escalation rungs taken by this process's claims.",
		}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flux_webhooks_total",
			Help: "Twilio webhooks by kind and result.",
		}, []string{"kind", "result"}),
		delivery: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flux_delivery_status_total",
			Help: "Delivery statuses recorded from Twilio's status callbacks, by channel (whatsapp, call) and status (delivered, read, failed, undelivered, completed, no-answer, busy...).",
		}, []string{"channel", "status"}),
	}
	m.Registry.MustRegister(m.attempts, m.lag, m.claimed, m.webhooks, m.delivery,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&outbox{store: s, log: log})
	return m
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

// outbox reads the queue depth at scrape time.
type outbox struct {
	store *store.Store
	log   *slog.Logger
}

var (
	depthDesc = prometheus.NewDesc("flux_outbox_pending", "Outbox rows waiting to be sent.", nil, nil)
	oldDesc   = prometheus.NewDesc("flux_outbox_oldest_pending_seconds", "How long the oldest pending outbox row has been due.", nil, nil)
)

func (o *outbox) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc; ch <- oldDesc }

func (o *outbox) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, age, err := o.store.OutboxDepth(ctx)
	if err != nil {
		o.log.Error("metrics: outbox depth", "error", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(oldDesc, prometheus.GaugeValue, max(age.Seconds(), 0))
}
