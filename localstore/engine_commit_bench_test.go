package localstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
)

// BenchmarkEngineCommit is issue 4's "a commit in a 1000-member group
// writes ≤ 10% of a full snapshot", measured at the disk: the real engine
// creates and merges self-update commits in a 1000-member group (the
// sparse shape: one commit added everyone) whose state is on a localstore.
// It reports every byte written to any file per commit — the write-ahead
// log and the component files, checkpoint included — against the size of
// the group's exported GroupSnapshot, and the fsyncs per commit.
func BenchmarkEngineCommit(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchEngineCommit(b, n) })
	}
}

func benchEngineCommit(b *testing.B, n int) {
	ctx := context.Background()
	st, counter := countedStore(b)
	alice := engine.NewClient(st, []byte("alice"), engine.Options{})
	g, err := alice.CreateGroup(ctx, benchSuite, nil)
	if err != nil {
		b.Fatal(err)
	}
	kps := make([][]byte, 0, n-1)
	for i := 1; i < n; i++ {
		m := engine.NewClient(engine.NewMemStorage(), fmt.Appendf(nil, "member-%d", i), engine.Options{})
		kp, err := m.CreateKeyPackage(ctx, benchSuite, false)
		if err != nil {
			b.Fatal(err)
		}
		kps = append(kps, kp)
	}
	commit := func(opts engine.CommitOptions) {
		if _, err := g.Commit(ctx, opts); err != nil {
			b.Fatal(err)
		}
		if _, err := g.MergePendingCommit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	commit(engine.CommitOptions{Add: kps})
	if err := st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	snap, _, err := engine.ExportSnapshot(ctx, st, g.GroupID())
	if err != nil {
		b.Fatal(err)
	}
	before := counter.Stats()
	b.ResetTimer()
	for range b.N {
		commit(engine.CommitOptions{SelfUpdate: true})
	}
	if err := st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	after := counter.Stats()
	per := float64(after.BytesWritten-before.BytesWritten) / float64(b.N)
	b.ReportMetric(per, "written-B/commit")
	b.ReportMetric(float64(len(snap)), "snapshot-B")
	b.ReportMetric(100*per/float64(len(snap)), "%-of-snapshot")
	b.ReportMetric(float64(after.Ops[fsx.OpSync]+after.Ops[fsx.OpSyncDir]-before.Ops[fsx.OpSync]-before.Ops[fsx.OpSyncDir])/float64(b.N), "fsyncs/commit")
}
