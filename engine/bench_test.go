package engine

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// benchSizes are the group sizes of BenchmarkGroup.
var benchSizes = []int{2, 10, 100, 1000, 10000}

// benchGroup is a group of suite 1 in the "sparse" shape: member a added
// the other n−1 in one commit, and b joined from that Welcome. Only a and b
// hold state; the other members are KeyPackages.
type benchGroup struct {
	a, b *member
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
	a, b := newMember("a"), newMember("b")
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

// BenchmarkGroup measures group operations of suite 1, from bytes in to
// bytes out, as BenchmarkGroup/<shape>/<op>/n=<size>. Commits are
// PublicMessages, application messages PrivateMessages; storage is
// MemStorage. The sparse shape is described at benchGroup.
func BenchmarkGroup(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes {
		if testing.Short() && n > 1000 {
			continue
		}
		var g *benchGroup
		setup := func(b *testing.B) *benchGroup {
			if g == nil {
				g = newSparseGroup(b, n)
			}
			return g
		}
		size := fmt.Sprintf("n=%d", n)
		b.Run("sparse/build/"+size, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				newSparseGroup(b, n)
			}
		})
		b.Run("sparse/self-update-commit/"+size, func(b *testing.B) {
			g := setup(b)
			for i := 0; i < b.N; i++ {
				out := mustCommit(b, g.a, CommitOptions{SelfUpdate: true})
				b.StopTimer()
				mustProcess(b, g.b, out.Commit)
				b.StartTimer()
			}
		})
		b.Run("sparse/self-update-process/"+size, func(b *testing.B) {
			g := setup(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				out := mustCommit(b, g.a, CommitOptions{SelfUpdate: true})
				b.StartTimer()
				mustProcess(b, g.b, out.Commit)
			}
		})
		addRemove := func(b *testing.B, timeAdd, timeRemove, timeProcess bool) {
			g := setup(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				kp := freshKeyPackage(b)
				if timeAdd && !timeProcess {
					b.StartTimer()
				}
				out := mustCommit(b, g.a, CommitOptions{Add: [][]byte{kp}})
				b.StopTimer()
				if timeAdd && timeProcess {
					b.StartTimer()
				}
				r := mustProcess(b, g.b, out.Commit)
				b.StopTimer()
				leaf := r.Commit.Added[0].Index
				if timeRemove && !timeProcess {
					b.StartTimer()
				}
				out = mustCommit(b, g.a, CommitOptions{Remove: []uint32{leaf}})
				b.StopTimer()
				if timeRemove && timeProcess {
					b.StartTimer()
				}
				mustProcess(b, g.b, out.Commit)
				b.StopTimer()
			}
		}
		b.Run("sparse/add-commit/"+size, func(b *testing.B) { addRemove(b, true, false, false) })
		b.Run("sparse/add-process/"+size, func(b *testing.B) { addRemove(b, true, false, true) })
		b.Run("sparse/remove-commit/"+size, func(b *testing.B) { addRemove(b, false, true, false) })
		b.Run("sparse/remove-process/"+size, func(b *testing.B) { addRemove(b, false, true, true) })
		b.Run("sparse/join/"+size, func(b *testing.B) {
			g := setup(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c := newMember("c")
				kp := c.keyPackage(b, suite1)
				out, err := g.a.g.Commit(ctx, CommitOptions{Add: [][]byte{kp}})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := c.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := g.a.g.ClearPendingCommit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("sparse/encrypt-decrypt/"+size, func(b *testing.B) {
			g := setup(b)
			msg := bytes.Repeat([]byte{'m'}, 100)
			for i := 0; i < b.N; i++ {
				ct, err := g.a.g.Encrypt(ctx, msg, nil)
				if err != nil {
					b.Fatal(err)
				}
				mustProcess(b, g.b, ct)
			}
		})
	}
}
