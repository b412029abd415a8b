package engine

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// benchSizes are the group sizes of BenchmarkGroup.
var benchSizes = []int{2, 10, 100, 1000, 10000}

// benchGroup is a group of suite 1 in the "sparse" shape: member a added
// the other n−1 in one commit, and b joined from that Welcome. Only a and b
// hold state; the other members are KeyPackages.
type benchGroup struct {
	a, b *member
}

// benchMaxMessage admits the Welcome of a 10000-member group with its
// ratchet tree (about 2.9 MB), which exceeds [DefaultMaxMessageSize].
const benchMaxMessage = 16 << 20

// newBenchMember is newMember with room for the largest benchmark messages.
func newBenchMember(name string) *member {
	st := NewMemStorage()
	return &member{name: name, st: st, client: NewClient(st, []byte(name), Options{MaxMessageSize: benchMaxMessage})}
}

func freshKeyPackage(tb testing.TB) []byte {
	tb.Helper()
	m := newMember("x")
	kp, err := m.client.CreateKeyPackage(context.Background(), suite1, false)
	if err != nil {
		tb.Fatal(err)
	}
	return kp
}

func newSparseGroup(tb testing.TB, n int) *benchGroup {
	tb.Helper()
	ctx := context.Background()
	a, b := newBenchMember("a"), newBenchMember("b")
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("bench")); err != nil {
		tb.Fatal(err)
	}
	kps := [][]byte{}
	if n > 1 {
		kps = append(kps, b.keyPackage(tb, suite1))
	}
	for len(kps) < n-1 {
		kps = append(kps, freshKeyPackage(tb))
	}
	out, err := a.g.Commit(ctx, CommitOptions{Add: kps})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := a.g.MergePendingCommit(ctx); err != nil {
		tb.Fatal(err)
	}
	if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		tb.Fatal(err)
	}
	return &benchGroup{a: a, b: b}
}

func mustCommit(tb testing.TB, m *member, o CommitOptions) *CommitOutput {
	ctx := context.Background()
	out, err := m.g.Commit(ctx, o)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := m.g.MergePendingCommit(ctx); err != nil {
		tb.Fatal(err)
	}
	return out
}

func mustProcess(tb testing.TB, m *member, msg []byte) *Result {
	r, err := m.g.Process(context.Background(), msg)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// newFullGroup builds the "full" shape: the sparse group, then every member
// commits a self-update (in bit-reversed leaf order, so each path encrypts
// to few nodes), filling every parent node. Members other than a and b
// commit through throwaway copies of a's state holding their own keys.
func newFullGroup(tb testing.TB, n int) *benchGroup {
	tb.Helper()
	ctx := context.Background()
	a, b := newBenchMember("a"), newBenchMember("b")
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("bench")); err != nil {
		tb.Fatal(err)
	}
	cs := a.g.s.cs
	type virtual struct{ sigPriv, leafPriv, leafPub []byte }
	var virt []virtual
	kps := [][]byte{}
	if n > 1 {
		kps = append(kps, b.keyPackage(tb, suite1))
	}
	for len(kps) < n-1 {
		sigPriv, sigPub, err := cs.GenerateSignatureKey()
		if err != nil {
			tb.Fatal(err)
		}
		kp, sec, err := newKeyPackage(cs, basicCredential("v"), testCaps(tb, cs, wire.CredentialTypeBasic), sigPriv, sigPub, timeNow())
		if err != nil {
			tb.Fatal(err)
		}
		kps = append(kps, sec.KeyPackage)
		virt = append(virt, virtual{sigPriv, sec.LeafPriv, kp.LeafNode.EncryptionKey})
	}
	out := mustCommit(tb, a, CommitOptions{Add: kps})
	if n > 1 {
		if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
			tb.Fatal(err)
		}
	}
	bits := 0
	for 1<<bits < n {
		bits++
	}
	for r := 0; r < 1<<bits; r++ {
		leaf := 0
		for k := 0; k < bits; k++ {
			if r&(1<<k) != 0 {
				leaf |= 1 << (bits - 1 - k)
			}
		}
		switch {
		case leaf >= n:
		case leaf == 0:
			out := mustCommit(tb, a, CommitOptions{SelfUpdate: true})
			if n > 1 {
				mustProcess(tb, b, out.Commit)
			}
		case leaf == 1:
			out := mustCommit(tb, b, CommitOptions{SelfUpdate: true})
			mustProcess(tb, a, out.Commit)
		default:
			v := virt[leaf-2]
			s := *a.g.s
			s.keys = tree.NewPrivateKeys(tree.LeafIndex(leaf), tree.KeyPair{Priv: v.leafPriv, Pub: v.leafPub})
			s.sigPriv = v.sigPriv
			vg := &Group{st: NewMemStorage(), id: a.g.id, opts: a.g.opts, s: &s}
			out, err := vg.Commit(ctx, CommitOptions{SelfUpdate: true})
			if err != nil {
				tb.Fatal(err)
			}
			mustProcess(tb, a, out.Commit)
			mustProcess(tb, b, out.Commit)
		}
	}
	return &benchGroup{a: a, b: b}
}

// BenchmarkGroup measures group operations of suite 1, from bytes in to
// bytes out, as BenchmarkGroup/<shape>/<op>/n=<size>. Commits are
// PublicMessages, application messages PrivateMessages; storage is
// MemStorage. Shapes: "sparse" (see benchGroup) and "full" (see
// newFullGroup). The primitives run first, as BenchmarkGroup/primitives/…,
// and every operation reports its time as a multiple ("x-crypto") of the
// cryptography it cannot avoid, priced in the same run (see cryptoCost),
// and the same in process CPU time ("cpu-ns/op", "x-crypto-cpu"; see
// reportRatio).
func BenchmarkGroup(b *testing.B) {
	cc := newCryptoCost(b)
	benchPrimitives(b, cc)
	for _, shape := range []struct {
		name  string
		build func(testing.TB, int) *benchGroup
	}{{"full", newFullGroup}, {"sparse", newSparseGroup}} {
		for _, n := range benchSizes {
			if testing.Short() && n > 1000 {
				continue
			}
			benchShape(b, shape.name, shape.build, n, cc)
		}
	}
}

func benchShape(b *testing.B, shape string, build func(testing.TB, int) *benchGroup, n int, cc *cryptoCost) {
	ctx := context.Background()
	var g *benchGroup
	// setup builds the group on first use, outside the timed region.
	setup := func(b *testing.B) *benchGroup {
		if g == nil {
			g = build(b, n)
			b.ResetTimer()
		}
		return g
	}
	name := func(op string) string { return fmt.Sprintf("%s/%s/n=%d", shape, op, n) }
	b.Run(name("build"), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			build(b, n)
		}
	})
	b.Run(name("self-update-commit"), func(b *testing.B) {
		g := setup(b)
		clk := startClock(b)
		var last []byte
		for i := 0; i < b.N; i++ {
			out := mustCommit(b, g.a, CommitOptions{SelfUpdate: true})
			clk.stop()
			mustProcess(b, g.b, out.Commit)
			last = out.Commit
			clk.start()
		}
		reportRatio(b, cc, clk, func() float64 { return cc.pathCommit(b, last) })
	})
	b.Run(name("self-update-process"), func(b *testing.B) {
		g := setup(b)
		clk := startClock(b)
		var last []byte
		for i := 0; i < b.N; i++ {
			clk.stop()
			out := mustCommit(b, g.a, CommitOptions{SelfUpdate: true})
			last = out.Commit
			clk.start()
			mustProcess(b, g.b, out.Commit)
		}
		reportRatio(b, cc, clk, func() float64 { return cc.pathProcess(b, last) })
	})
	// addRemove adds a member and removes it again, timing one of the four
	// steps, and returns its clock and the last Welcome and remove commit.
	addRemove := func(b *testing.B, timeAdd, timeRemove, timeProcess bool) (clk *benchClock, welcome, remove []byte) {
		g := setup(b)
		clk = startClock(b)
		for i := 0; i < b.N; i++ {
			clk.stop()
			kp := freshKeyPackage(b)
			if timeAdd && !timeProcess {
				clk.start()
			}
			out := mustCommit(b, g.a, CommitOptions{Add: [][]byte{kp}})
			clk.stop()
			if timeAdd && timeProcess {
				clk.start()
			}
			r := mustProcess(b, g.b, out.Commit)
			clk.stop()
			leaf := r.Commit.Added[0].Index
			if timeRemove && !timeProcess {
				clk.start()
			}
			welcome = out.Welcome
			out = mustCommit(b, g.a, CommitOptions{Remove: []uint32{leaf}})
			clk.stop()
			remove = out.Commit
			if timeRemove && timeProcess {
				clk.start()
			}
			mustProcess(b, g.b, out.Commit)
			clk.stop()
		}
		return clk, welcome, remove
	}
	b.Run(name("add-commit"), func(b *testing.B) {
		clk, welcome, _ := addRemove(b, true, false, false)
		reportRatio(b, cc, clk, func() float64 { return cc.addCommit(b, welcome) })
	})
	b.Run(name("add-process"), func(b *testing.B) {
		clk, _, _ := addRemove(b, true, false, true)
		reportRatio(b, cc, clk, func() float64 { return cc.addProcess(b) })
	})
	b.Run(name("remove-commit"), func(b *testing.B) {
		clk, _, remove := addRemove(b, false, true, false)
		reportRatio(b, cc, clk, func() float64 { return cc.pathCommit(b, remove) })
	})
	b.Run(name("remove-process"), func(b *testing.B) {
		clk, _, remove := addRemove(b, false, true, true)
		reportRatio(b, cc, clk, func() float64 { return cc.pathProcess(b, remove) })
	})
	b.Run(name("join"), func(b *testing.B) {
		g := setup(b)
		clk := startClock(b)
		var last []byte
		for i := 0; i < b.N; i++ {
			clk.stop()
			c := newBenchMember("c")
			kp := c.keyPackage(b, suite1)
			out, err := g.a.g.Commit(ctx, CommitOptions{Add: [][]byte{kp}})
			if err != nil {
				b.Fatal(err)
			}
			clk.start()
			if _, err := c.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
				b.Fatal(err)
			}
			clk.stop()
			last = out.Welcome
			if err := g.a.g.ClearPendingCommit(ctx); err != nil {
				b.Fatal(err)
			}
		}
		reportRatio(b, cc, clk, func() float64 { return cc.join(b, last, n+1) })
	})
	b.Run(name("encrypt-decrypt"), func(b *testing.B) {
		g := setup(b)
		clk := startClock(b)
		msg := bytes.Repeat([]byte{'m'}, 100)
		for i := 0; i < b.N; i++ {
			ct, err := g.a.g.Encrypt(ctx, msg, nil)
			if err != nil {
				b.Fatal(err)
			}
			mustProcess(b, g.b, ct)
		}
		reportRatio(b, cc, clk, func() float64 { return cc.encryptDecrypt(b) })
	})
}

// TestFullShape checks that newFullGroup fills every parent node and that
// a and b agree.
func TestFullShape(t *testing.T) {
	for _, n := range []int{2, 13, 64} {
		g := newFullGroup(t, n)
		agree(t, g.a, g.b)
		tr := g.a.g.s.tree
		for x := uint32(1); x < tr.Width(); x += 2 {
			if tr.IsBlank(tree.NodeIndex(x)) && int(x) < 2*n-1 {
				t.Fatalf("n=%d: parent %d blank", n, x)
			}
		}
	}
}
