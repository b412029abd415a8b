package agent

import (
	"encoding/hex"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the agent's Prometheus metrics, on a registry of its own (no
// globals). Labels never carry secrets: groups are named by their hex id.
type metrics struct {
	reg        *prometheus.Registry
	taken      prometheus.Counter
	uploads    prometheus.Counter
	failed     *prometheus.CounterVec
	lastTime   *prometheus.GaugeVec
	lastEpoch  *prometheus.GaugeVec
	plainBytes prometheus.Counter
	cipherByte prometheus.Counter
	duration   prometheus.Histogram
	recovery   *prometheus.CounterVec
	requests   *prometheus.CounterVec
	skipped    prometheus.Counter
	reconcile  *prometheus.CounterVec
	missing    prometheus.Counter
	retention  *prometheus.CounterVec
	pruned     prometheus.Counter
	heads      prometheus.Counter
}

func newMetrics(a *Agent) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		taken: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlsbackup_snapshots_taken_total", Help: "Snapshots exported from a consistent view of a group.",
		}),
		uploads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlsbackup_snapshots_uploaded_total", Help: "Snapshots uploaded completely (manifest written).",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlsbackup_snapshots_failed_total", Help: "Snapshot attempts that failed, by stage (export, local, upload, head).",
		}, []string{"stage"}),
		lastTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mlsbackup_last_upload_timestamp_seconds", Help: "Unix time of the group's last complete upload.",
		}, []string{"group"}),
		lastEpoch: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mlsbackup_last_upload_epoch", Help: "Epoch of the group's last complete upload.",
		}, []string{"group"}),
		plainBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlsbackup_snapshot_bytes_total", Help: "Plaintext snapshot bytes uploaded.",
		}),
		cipherByte: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlsbackup_snapshot_encrypted_bytes_total", Help: "Encrypted snapshot bytes uploaded.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "mlsbackup_snapshot_duration_seconds", Help: "Time to export, store and upload one snapshot.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		recovery: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlsbackup_recovery_events_total", Help: "What write-ahead log recovery did at start (replayed, dropped, pending_input, torn_tail, cleared_commit).",
		}, []string{"kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlsbackup_api_requests_total", Help: "API requests by HTTP status code.",
		}, []string{"code"}),
	}
	m.skipped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mlsbackup_snapshots_skipped_total", Help: "Snapshots not uploaded because their epoch is already at the destination.",
	})
	m.reconcile = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mlsbackup_reconcile_runs_total", Help: "Listings of the destination to reconcile with it, by result (ok, failed).",
	}, []string{"result"})
	m.missing = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mlsbackup_reconcile_missing_total", Help: "Groups found without their newest snapshot at the destination, and uploaded again.",
	})
	m.retention = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mlsbackup_retention_runs_total", Help: "Retention runs of the agent after its passes and reconciliations, by result (ok, failed).",
	}, []string{"result"})
	m.pruned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mlsbackup_retention_deleted_total", Help: "Snapshots deleted at the destination by the agent's retention.",
	})
	m.heads = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mlsbackup_heads_written_total", Help: "Signed heads written to the destination.",
	})
	wal := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mlsbackup_wal_bytes", Help: "Size of the write-ahead log segments.",
	}, func() float64 { return float64(a.walSize()) })
	groups := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mlsbackup_groups_loaded", Help: "Groups loaded in memory.",
	}, func() float64 { return float64(a.groups.loaded()) })
	m.reg.MustRegister(m.taken, m.uploads, m.failed, m.lastTime, m.lastEpoch, m.plainBytes,
		m.cipherByte, m.duration, m.recovery, m.requests, wal, groups,
		m.skipped, m.reconcile, m.missing, m.retention, m.pruned, m.heads)
	m.reg.MustRegister(a.storeMetrics()...)
	m.reg.MustRegister(a.destMetrics()...)
	for _, k := range []string{"replayed", "dropped", "pending_input", "torn_tail"} {
		m.recovery.WithLabelValues(k)
	}
	for _, s := range []string{"export", "local", "upload", "head"} {
		m.failed.WithLabelValues(s)
	}
	for _, r := range []string{"ok", "failed"} {
		m.reconcile.WithLabelValues(r)
		m.retention.WithLabelValues(r)
	}
	return m
}

// uploaded records one complete upload.
func (m *metrics) uploaded(group []byte, epoch uint64, at time.Time, plain, cipher int64, d time.Duration) {
	m.uploads.Inc()
	m.setLast(hex.EncodeToString(group), UploadInfo{Epoch: epoch, At: at})
	m.plainBytes.Add(float64(plain))
	m.cipherByte.Add(float64(cipher))
	m.duration.Observe(d.Seconds())
}

// setLast sets the last-upload gauges of group (hex).
func (m *metrics) setLast(group string, u UploadInfo) {
	m.lastTime.WithLabelValues(group).Set(float64(u.At.UnixNano()) / 1e9)
	m.lastEpoch.WithLabelValues(group).Set(float64(u.Epoch))
}

// destinationKnown makes the last-upload gauges say what is known of the
// destination (cur, by group id), dropping those of groups in prev that
// are no longer there.
func (m *metrics) destinationKnown(prev, cur map[string]UploadInfo) {
	for id := range prev {
		if _, ok := cur[id]; !ok {
			g := hex.EncodeToString([]byte(id))
			m.lastTime.DeleteLabelValues(g)
			m.lastEpoch.DeleteLabelValues(g)
		}
	}
	for id, u := range cur {
		m.setLast(hex.EncodeToString([]byte(id)), u)
	}
}

// handler serves the metrics in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// walSize sums the sizes of the log segments.
func (a *Agent) walSize() int64 {
	dir := filepath.Join(a.dataDir, "wal")
	ents, err := a.fs.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		if fi, err := a.fs.Stat(filepath.Join(dir, e.Name())); err == nil && !fi.IsDir() {
			n += fi.Size()
		}
	}
	return n
}
