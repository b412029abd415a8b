package localstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// BenchmarkEngineSend is the durable application message end to end: the
// real engine (its sender keeps generation leases of
// engine.DefaultLeaseBlock) encrypts 100-byte messages in a two-member
// group whose sender state is on a localstore on disk. It reports the
// fsyncs per message, everything until the store is flushed included.
func BenchmarkEngineSend(b *testing.B) {
	ctx := context.Background()
	st, counter, ga := sendingGroup(b)
	msg := make([]byte, 100)
	before := counter.Stats()
	b.ResetTimer()
	for i := range b.N {
		if _, err := ga.Encrypt(ctx, msg, nil); err != nil {
			b.Fatalf("message %d: %v", i, err)
		}
	}
	if err := st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	after := counter.Stats()
	n := float64(b.N)
	b.ReportMetric(float64(after.Ops[fsx.OpSync]+after.Ops[fsx.OpSyncDir]-before.Ops[fsx.OpSync]-before.Ops[fsx.OpSyncDir])/n, "fsyncs/msg")
	b.ReportMetric(float64(after.BytesWritten-before.BytesWritten)/n, "written-B/msg")
	if b.N >= 1000 {
		b.Logf("%d messages: %d fsyncs, %d file syncs + %d directory syncs", b.N,
			after.Ops[fsx.OpSync]+after.Ops[fsx.OpSyncDir]-before.Ops[fsx.OpSync]-before.Ops[fsx.OpSyncDir],
			after.Ops[fsx.OpSync]-before.Ops[fsx.OpSync], after.Ops[fsx.OpSyncDir]-before.Ops[fsx.OpSyncDir])
	}
}

// BenchmarkEngineSendOutbox is [BenchmarkEngineSend] as the agent sends:
// each message is stored with its ratchet step through an engine.Attach
// (the agent's transactional outbox), so every message writes a batch.
func BenchmarkEngineSendOutbox(b *testing.B) {
	ctx := context.Background()
	st, counter, ga := sendingGroup(b)
	msg := make([]byte, 100)
	n := 0
	outbox := func(o *engine.Outcome) ([]engine.Put, error) {
		n++
		return []engine.Put{{Key: engine.Key{Group: o.GroupID, Kind: "outbox", Name: fmt.Sprint(n)}, Value: o.Message}}, nil
	}
	before := counter.Stats()
	b.ResetTimer()
	for i := range b.N {
		if _, err := ga.Encrypt(ctx, msg, nil, outbox); err != nil {
			b.Fatalf("message %d: %v", i, err)
		}
	}
	if err := st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	after := counter.Stats()
	b.ReportMetric(float64(after.Ops[fsx.OpSync]+after.Ops[fsx.OpSyncDir]-before.Ops[fsx.OpSync]-before.Ops[fsx.OpSyncDir])/float64(b.N), "fsyncs/msg")
	b.ReportMetric(float64(after.BytesWritten-before.BytesWritten)/float64(b.N), "written-B/msg")
}

// sendingGroup returns a counted store on disk holding alice's side of a
// two-member group (bob in memory), flushed, and alice's group.
func sendingGroup(b *testing.B) (*localstore.Store, *fsx.Faulty, *engine.Group) {
	b.Helper()
	ctx := context.Background()
	st, counter := countedStore(b)
	alice := engine.NewClient(st, []byte("alice"), engine.Options{})
	bob := engine.NewClient(engine.NewMemStorage(), []byte("bob"), engine.Options{})
	ga, err := alice.CreateGroup(ctx, benchSuite, nil)
	if err != nil {
		b.Fatal(err)
	}
	kp, err := bob.CreateKeyPackage(ctx, benchSuite, false)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ga.Commit(ctx, engine.CommitOptions{Add: [][]byte{kp}}); err != nil {
		b.Fatal(err)
	}
	if _, err := ga.MergePendingCommit(ctx); err != nil {
		b.Fatal(err)
	}
	if err := st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return st, counter, ga
}

// benchSuite is the cipher suite of the engine benchmarks.
const benchSuite = suite.X25519AES128GCMSHA256Ed25519

// countedStore opens a localstore on a fresh directory through a
// file-system layer that counts operations and bytes; it is closed when
// the benchmark ends.
func countedStore(b *testing.B) (*localstore.Store, *fsx.Faulty) {
	b.Helper()
	counter := fsx.NewFaulty(fsx.OS{}, fsx.FaultyOptions{})
	st, _, err := localstore.Open(context.Background(), counter, b.TempDir(), localstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, counter
}
