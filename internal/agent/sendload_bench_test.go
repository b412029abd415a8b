package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/config"
)

// Load of BenchmarkSendDuringSnapshots.
const (
	loadGroups  = 1000 // active groups
	loadClients = 4    // concurrent API clients, each with its own connection
	loadChunk   = 100  // groups snapshotted in one "on" phase
	// loadSettle follows each snapshot phase unmeasured, so that the
	// quiet phase does not start while the pass's last writes drain.
	loadSettle = 500 * time.Millisecond
)

// Modes of the send load.
const (
	modeSettle int32 = iota // not measured
	modeOff                 // no snapshot runs
	modeOn                  // a snapshot pass runs
)

// BenchmarkSendDuringSnapshots measures what snapshot passes cost the
// application: 4 API clients send application messages as fast as they
// can, over the agent's unix socket through the Go client, to 1,000
// groups in turn, while the snapshot load is switched on and off.
//
// One op is one round of the 1,000 groups, in windows of loadChunk groups:
// in each, an "on" phase runs a snapshot pass (the agent's own pass code,
// SnapshotPass, after the window's groups' uploads are forgotten, so that
// the pass snapshots them as the cron pass of a deployment whose groups
// moved does: export, local snapshot file, age encryption and upload of
// each, then retention over the destination), then an "off" phase as long
// without snapshots. This is the heaviest snapshot load the agent makes
// (every-N-epochs snapshots are the same work, spread over time). Short
// alternating phases in one run make the ratios compare like with like on
// a shared machine. Reported per mode: the p99 latency of a send and the
// sends per second; and the ratios on/off that the goal bounds (p99 ≤ 2×,
// throughput ≥ 0.8×). Whatever a send costs (a durable log record or
// more), the ratios isolate what the snapshots add.
//
// go test ./internal/agent -run '^$' -bench BenchmarkSendDuringSnapshots -benchtime 1x -count 5
func BenchmarkSendDuringSnapshots(b *testing.B) {
	l := newSendLoad(b)
	b.ResetTimer()
	for range b.N {
		for first := 0; first < loadGroups; first += loadChunk {
			start := time.Now()
			l.mode.Store(modeOn)
			l.forgetUploads(l.ids[first : first+loadChunk])
			if _, err := l.a.SnapshotPass(context.Background()); err != nil {
				b.Fatalf("snapshot pass: %v", err)
			}
			on := time.Since(start)
			l.mode.Store(modeSettle)
			time.Sleep(loadSettle)
			l.mode.Store(modeOff)
			time.Sleep(on)
			l.dur[modeOn] += on
			l.dur[modeOff] += on
		}
	}
	l.mode.Store(modeSettle)
	b.StopTimer()
	l.stop()
	offP99, offRate := l.figures(modeOff)
	onP99, onRate := l.figures(modeOn)
	b.ReportMetric(ms(offP99), "p99-off-ms")
	b.ReportMetric(ms(onP99), "p99-on-ms")
	b.ReportMetric(ms(onP99)/ms(offP99), "p99-ratio")
	b.ReportMetric(offRate, "sends/s-off")
	b.ReportMetric(onRate, "sends/s-on")
	b.ReportMetric(onRate/offRate, "rate-ratio")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sendLoad is a running agent with loadGroups groups and loadClients
// clients sending to them until stop.
type sendLoad struct {
	b    *testing.B
	a    *Agent
	ids  [][]byte
	mode atomic.Int32
	dur  [3]time.Duration // time spent in each mode

	quit     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	mu       sync.Mutex
	lat      [3][]time.Duration // send latencies by mode
}

func newSendLoad(b *testing.B) *sendLoad {
	b.Helper()
	a := newBenchAgent(b, func(c *config.Config) { c.Retention.KeepLast, c.Retention.KeepWithin = 3, 0 })
	runCtx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(runCtx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			b.Errorf("Run: %v", err)
		}
	})
	l := &sendLoad{b: b, a: a, quit: make(chan struct{})}
	ctx := context.Background()
	l.ids = make([][]byte, loadGroups)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < loadGroups; i = int(next.Add(1)) - 1 {
				id := []byte(fmt.Sprintf("load-%05d", i))
				if _, err := a.Create(ctx, "", id, 0); err != nil {
					b.Error(err)
					return
				}
				l.ids[i] = id
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	// A first pass uploads every group once: the measured passes then
	// meet a destination that holds snapshots, as in production.
	if _, err := a.SnapshotPass(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.stop)
	for w := range loadClients {
		c, err := Dial(a.SocketPath())
		if err != nil {
			b.Fatal(err)
		}
		l.wg.Go(func() { l.send(c, w) })
	}
	time.Sleep(time.Second) // warm up: connections, loaded groups
	return l
}

// send sends to the groups in turn (client w starts at its own offset)
// until quit, recording each latency under the mode it started in.
func (l *sendLoad) send(c *Client, w int) {
	defer c.Close()
	ctx := context.Background()
	var lat [3][]time.Duration
	msg := SendRequest{Data: make([]byte, 100)}
	for i := w * loadGroups / loadClients; ; i++ {
		select {
		case <-l.quit:
			l.mu.Lock()
			for m := range lat {
				l.lat[m] = append(l.lat[m], lat[m]...)
			}
			l.mu.Unlock()
			return
		default:
		}
		mode := l.mode.Load()
		start := time.Now()
		if _, err := c.Send(ctx, l.ids[i%loadGroups], msg); err != nil {
			l.b.Errorf("send: %v", err)
			<-l.quit
			return
		}
		lat[mode] = append(lat[mode], time.Since(start))
	}
}

// stop ends the clients and gathers their latencies.
func (l *sendLoad) stop() {
	l.stopOnce.Do(func() {
		close(l.quit)
		l.wg.Wait()
	})
}

// figures returns the p99 latency and the sends per second of mode.
func (l *sendLoad) figures(mode int32) (time.Duration, float64) {
	lat := l.lat[mode]
	if len(lat) == 0 || l.dur[mode] == 0 {
		l.b.Fatalf("no sends measured in mode %d", mode)
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100], float64(len(lat)) / l.dur[mode].Seconds()
}

// forgetUploads makes the agent forget the uploads of ids, so that the
// next pass snapshots them.
func (l *sendLoad) forgetUploads(ids [][]byte) {
	u := l.a.uploads
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, id := range ids {
		delete(u.m, string(id))
	}
}
