package function

import (
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"smsverify/core"
)

// Metrics are counted in-process from each request's access-log record,
// so a metric and the log line never disagree, and shown two ways:
// GET /metrics (trusted callers) in the Prometheus text format, and, with
// METRICS=emf, as CloudWatch Embedded Metric Format members of the access
// line itself (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
// which CloudWatch turns into metrics with no metric filter. Labels and
// dimensions are outcome codes only, never a number.

// metricsEMF is the METRICS value for Embedded Metric Format lines.
const metricsEMF = "emf"

// namespacePattern is what CloudWatch accepts as a namespace.
var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9.\-_/#:]{1,255}$`)

// validNamespace reports whether METRICS_NAMESPACE is a CloudWatch
// namespace.
func validNamespace(ns string) bool { return namespacePattern.MatchString(ns) }

// metrics are the service's Prometheus collectors, in a registry of its own.
type metrics struct {
	handler  http.Handler
	sends    *prometheus.CounterVec
	checks   *prometheus.CounterVec
	receipts *prometheus.CounterVec
	refusals *prometheus.CounterVec
	captcha  *prometheus.CounterVec
	upErrors *prometheus.CounterVec
	upstream *prometheus.HistogramVec
}

// newMetrics registers the collectors in a new registry.
func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	counter := func(name, help, label string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "smsverify", Name: name, Help: help}, []string{label})
		reg.MustRegister(c)
		return c
	}
	m := &metrics{
		sends:    counter("sends_total", "Sends (SendSmsVerifyCode) by outcome code.", "code"),
		checks:   counter("checks_total", "Checks (CheckSmsVerifyCode) by result: PASS, UNKNOWN, or the error code.", "result"),
		receipts: counter("receipts_total", "Delivery receipts stored, by status (DELIVERED, FAILED); repeats are not counted.", "status"),
		refusals: counter("limit_refusals_total", "Requests refused by a local rate limit, by limit code.", "limit"),
		captcha:  counter("captcha_total", "Captcha verifications by outcome.", "outcome"),
		upErrors: counter("upstream_errors_total", "Dypnsapi calls that failed transiently (timeout, unreachable, 5xx, throttling), by action.", "action"),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "smsverify", Name: "upstream_duration_seconds",
			Help:    "Latency of Dypnsapi calls, by action.",
			Buckets: []float64{.025, .05, .1, .2, .4, .8, 1.6, 3.2, 6.4},
		}, []string{"action"}),
	}
	reg.MustRegister(m.upstream)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// observe counts one request from its access-log record. An answer
// replayed from an idempotency record did nothing and counts as nothing:
// the first request was counted.
func (m *metrics) observe(a *accessLog) {
	if a.Replayed {
		return
	}
	switch a.Action {
	case core.ActionSend:
		m.sends.WithLabelValues(a.Code).Inc()
	case core.ActionCheck:
		m.checks.WithLabelValues(checkResult(a)).Inc()
	}
	if a.ReceiptsDelivered > 0 {
		m.receipts.WithLabelValues(deliveryDelivered).Add(float64(a.ReceiptsDelivered))
	}
	if a.ReceiptsFailed > 0 {
		m.receipts.WithLabelValues(deliveryFailed).Add(float64(a.ReceiptsFailed))
	}
	if _, ok := limitMessages[a.Code]; ok {
		m.refusals.WithLabelValues(a.Code).Inc()
	}
	if a.Captcha != "" {
		m.captcha.WithLabelValues(a.Captcha).Inc()
	}
	if a.Upstream > 0 {
		m.upstream.WithLabelValues(a.Action).Observe(a.Upstream.Seconds())
	}
	if a.UpstreamFailed {
		m.upErrors.WithLabelValues(a.Action).Inc()
	}
}

// checkResult is a check's metric label: its VerifyResult, else its code.
func checkResult(a *accessLog) string {
	if a.Result != "" {
		return a.Result
	}
	return a.Code
}

// serveMetrics answers GET /metrics, for trusted callers.
func (s *Service) serveMetrics(w http.ResponseWriter, r *http.Request, al *accessLog) *apiError {
	if e := s.trustedGet(w, r, al); e != nil {
		return e
	}
	al.Code, al.Status = CodeOK, http.StatusOK
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

// emfMetric is one metric of an EMF directive.
type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// emfDirective is one member of _aws.CloudWatchMetrics.
type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

// emfAttrs returns the EMF members for the access line of a: the metric
// values as top-level members and the _aws object that declares them. The
// dimensions are members the line already has (code, verify_result,
// captcha, action); each metric is also published without dimensions, for
// totals and alarms.
func (s *Service) emfAttrs(a *accessLog, now time.Time) []slog.Attr {
	if a.Replayed {
		return nil // like observe
	}
	var (
		attrs []slog.Attr
		dirs  []emfDirective
	)
	add := func(name, unit string, v float64, dim string) {
		attrs = append(attrs, slog.Float64(name, v))
		dims := [][]string{{}}
		if dim != "" {
			dims = append(dims, []string{dim})
		}
		dirs = append(dirs, emfDirective{Namespace: s.cfg.MetricsNamespace, Dimensions: dims, Metrics: []emfMetric{{name, unit}}})
	}
	switch a.Action {
	case core.ActionSend:
		add("Sends", "Count", 1, "code")
	case core.ActionCheck:
		// A failed check has no verify_result: only the total counts it.
		if a.Result != "" {
			add("Checks", "Count", 1, "verify_result")
		} else {
			add("Checks", "Count", 1, "")
		}
	}
	if a.ReceiptsDelivered+a.ReceiptsFailed > 0 {
		add("ReceiptsDelivered", "Count", float64(a.ReceiptsDelivered), "")
		add("ReceiptsFailed", "Count", float64(a.ReceiptsFailed), "")
	}
	if _, ok := limitMessages[a.Code]; ok {
		add("LimitRefusals", "Count", 1, "code")
	}
	if a.Captcha != "" {
		add("Captcha", "Count", 1, "captcha")
	}
	if a.Upstream > 0 {
		add("UpstreamLatency", "Milliseconds", float64(a.Upstream.Microseconds())/1000, "action")
	}
	if a.UpstreamFailed {
		add("UpstreamErrors", "Count", 1, "action")
	}
	if len(dirs) == 0 {
		return nil
	}
	return append(attrs, slog.Any("_aws", map[string]any{"Timestamp": now.UnixMilli(), "CloudWatchMetrics": dirs}))
}
