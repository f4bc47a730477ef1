// Package metrics exposes mfadesk's Prometheus metrics: requests by action
// and state, time to approval, execution time, directory calls, Slack API
// errors and retries, and open requests.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mfadesk/mfadesk/actions"
)

// Metrics is an actions.Observer that records into its own registry.
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	toApproval    *prometheus.HistogramVec
	execution     *prometheus.HistogramVec
	dirCalls      *prometheus.CounterVec
	dirCallTime   *prometheus.HistogramVec
	slackCalls    *prometheus.CounterVec
	slackTime     *prometheus.HistogramVec
	slackRetries  *prometheus.CounterVec
	jobsDropped   *prometheus.CounterVec
	digestsPosted prometheus.Counter
}

var _ actions.Observer = (*Metrics)(nil)

// OpenCounter counts requests per state, for the open-requests gauge.
type OpenCounter func(ctx context.Context) (map[actions.State]int, error)

// New returns metrics registered in a fresh registry, with Go and process
// collectors. open, if not nil, is asked for pending and running counts at
// every scrape.
func New(open OpenCounter, log *slog.Logger) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = counterVec("mfadesk_requests_total", "Requests entering each state, by action.", "action", "state")
	m.toApproval = histogramVec("mfadesk_time_to_approval_seconds", "From request to final approval.",
		[]float64{10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200}, "action")
	m.execution = histogramVec("mfadesk_execution_duration_seconds", "From approval to the request's final state.",
		prometheus.ExponentialBuckets(0.1, 2, 14), "action", "state")
	m.dirCalls = counterVec("mfadesk_directory_calls_total", "Directory actions per target, after retries, by outcome.", "action", "outcome")
	m.dirCallTime = histogramVec("mfadesk_directory_call_duration_seconds", "Time of one target's directory action, retries included.",
		prometheus.ExponentialBuckets(0.05, 2, 12), "action")
	m.slackCalls = counterVec("mfadesk_slack_api_calls_total", "Slack Web API calls after retries, by method and error (\"\" for success).",
		"method", "error")
	m.slackTime = histogramVec("mfadesk_slack_api_call_duration_seconds", "Slack Web API call time, retries included.",
		prometheus.ExponentialBuckets(0.025, 2, 10), "method")
	m.slackRetries = counterVec("mfadesk_slack_api_retries_total", "Slack Web API calls retried after rate limiting, by method.", "method")
	m.jobsDropped = counterVec("mfadesk_bot_jobs_dropped_total", "Work refused because the bot's queue was full, by kind.", "kind")
	m.digestsPosted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mfadesk_digests_posted_total", Help: "Audit digests posted to Slack.",
	})
	m.reg.MustRegister(m.requests, m.toApproval, m.execution, m.dirCalls, m.dirCallTime,
		m.slackCalls, m.slackTime, m.slackRetries, m.jobsDropped, m.digestsPosted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if open != nil {
		m.reg.MustRegister(&openCollector{count: open, log: log, desc: prometheus.NewDesc(
			"mfadesk_requests_open", "Requests pending approval or running, now.", []string{"state"}, nil)})
	}
	return m
}

// counterVec is a counter by labels.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// histogramVec is a histogram with buckets, by labels.
func histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}

// BuildInfo sets mfadesk_build_info: a gauge of 1 whose labels are the
// running binary's version, VCS revision and Go version.
func (m *Metrics) BuildInfo(version, revision, goVersion string) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mfadesk_build_info", Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(version, revision, goVersion).Set(1)
	m.reg.MustRegister(g)
}

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Transitioned implements actions.Observer.
func (m *Metrics) Transitioned(r actions.Request, from actions.State, now time.Time) {
	if from == r.State {
		return
	}
	a := string(r.Action)
	m.requests.WithLabelValues(a, string(r.State)).Inc()
	approvedNow := r.State == actions.StateApproved || (r.Manual && r.State == actions.StateRunning && from == actions.StatePending)
	if approvedNow {
		m.toApproval.WithLabelValues(a).Observe(now.Sub(r.CreatedAt).Seconds())
	}
	if r.State.Terminal() && from == actions.StateRunning && len(r.Approvals) > 0 {
		m.execution.WithLabelValues(a, string(r.State)).Observe(now.Sub(r.Approvals[len(r.Approvals)-1].At).Seconds())
	}
}

// DirectoryCall implements actions.Observer.
func (m *Metrics) DirectoryCall(a actions.Action, outcome actions.Outcome, d time.Duration) {
	m.dirCalls.WithLabelValues(string(a), string(outcome)).Inc()
	m.dirCallTime.WithLabelValues(string(a)).Observe(d.Seconds())
}

// SlackCall counts one Slack Web API call; code is "" on success, else the
// error. It implements bot.Metrics.
func (m *Metrics) SlackCall(method, code string, took time.Duration) {
	m.slackCalls.WithLabelValues(method, code).Inc()
	m.slackTime.WithLabelValues(method).Observe(took.Seconds())
}

// SlackRetry counts a Slack Web API call retried after a 429.
func (m *Metrics) SlackRetry(method string, _ time.Duration) {
	m.slackRetries.WithLabelValues(method).Inc()
}

// JobDropped counts work refused because the bot's queue was full.
func (m *Metrics) JobDropped(kind string) { m.jobsDropped.WithLabelValues(kind).Inc() }

// DigestPosted counts a posted digest.
func (m *Metrics) DigestPosted() { m.digestsPosted.Inc() }

type openCollector struct {
	count OpenCounter
	log   *slog.Logger
	desc  *prometheus.Desc
}

func (c *openCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *openCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		if c.log != nil {
			c.log.Warn("count open requests for metrics", "error", err)
		}
		return
	}
	for _, s := range []actions.State{actions.StatePending, actions.StateApproved, actions.StateRunning} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}
