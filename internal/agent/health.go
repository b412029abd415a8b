package agent

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlsbackup/mlsbackup/localstore"
)

// HealthResponse is the body of GET /healthz.
type HealthResponse struct {
	// Status is "ok"; "degraded" while the destination check fails (MLS
	// is served, snapshots wait); "unavailable" while the local store
	// cannot write.
	Status string `json:"status"`
	// Reason says why the agent is degraded or unavailable; it names no
	// file, key or endpoint and carries no secret.
	Reason string `json:"reason,omitempty"`
}

// serveHealthz answers GET /healthz: 200 {"status":"ok"} while the local
// store's writes succeed and the destination works; 200
// {"status":"degraded","reason":...} while the destination check fails,
// since MLS is still served and a restart would not help; 503
// {"status":"unavailable","reason":...} while the local store's writes
// fail (a full disk). The agent keeps running meanwhile and recovers by
// itself (see docs/api.md).
func (a *Agent) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	h := a.storeHealth()
	failing, why, since := a.destHealth.state()
	var dest string
	if failing {
		dest = fmt.Sprintf("destination failing since %s: %s; snapshots wait, MLS is served; 'mlsbackup check' says more",
			since.UTC().Format(time.RFC3339), why)
	}
	switch {
	case !h.OK() && failing:
		writeJSON(w, http.StatusServiceUnavailable, HealthResponse{Status: "unavailable", Reason: healthReason(h) + "; " + dest})
	case !h.OK():
		writeJSON(w, http.StatusServiceUnavailable, HealthResponse{Status: "unavailable", Reason: healthReason(h)})
	case failing:
		writeJSON(w, http.StatusOK, HealthResponse{Status: "degraded", Reason: dest})
	default:
		writeJSON(w, http.StatusOK, HealthResponse{Status: "ok"})
	}
}

// healthReason describes a failing store for remote callers: the stage
// and the system error, never a path.
func healthReason(h localstore.Health) string {
	return fmt.Sprintf("local store writes failing since %s (%d failed writes so far): %s; retrying, nothing acknowledged is lost",
		h.Since.UTC().Format(time.RFC3339), h.Failures, h.Reason)
}

// storeHealth is the local store's write health (healthy before it is open).
func (a *Agent) storeHealth() localstore.Health {
	if a.store == nil {
		return localstore.Health{}
	}
	return a.store.Health()
}

// storeMetrics are the metrics of the store's write health.
func (a *Agent) storeMetrics() []prometheus.Collector {
	failures := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "mlsbackup_store_write_failures_total", Help: "Writes of the local store (write-ahead log, component files) that failed, e.g. for lack of space.",
	}, func() float64 { return float64(a.storeHealth().Failures) })
	healthy := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mlsbackup_store_healthy", Help: "1 while the local store's writes succeed, 0 while they fail (GET /healthz answers 503 then).",
	}, func() float64 {
		if a.storeHealth().OK() {
			return 1
		}
		return 0
	})
	return []prometheus.Collector{failures, healthy}
}

// metricsHandler serves agent.metrics_listen: only GET /metrics and GET
// /healthz, neither of which carries a secret, so no token is asked.
func (a *Agent) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.serveHealthz)
	mux.Handle("GET /metrics", a.metrics.handler())
	return mux
}
