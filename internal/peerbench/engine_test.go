package peerbench

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// suite1 is MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, the suite both
// sides run.
const suite1 = suite.X25519AES128GCMSHA256Ed25519

// maxMessage admits the Welcome of a group of a few thousand members with
// its ratchet tree.
const maxMessage = 16 << 20

// ops are the timed operations of one round, in the order both sides run
// them.
var ops = []string{
	"self-update-commit", "self-update-process",
	"add-commit", "add-process", "join",
	"remove-commit", "remove-process",
	"encrypt-decrypt",
}

// engineGroup is the engine's "sparse" group as engine/bench_test.go builds
// it: a added the other n-1 members (b and n-2 clients that only made a
// KeyPackage) in one commit and b joined from that Welcome; only a and b
// hold state, each in a MemStorage.
type engineGroup struct {
	a, b *engine.Group
}

// newClient is an engine client on a fresh MemStorage.
func newClient(name string) *engine.Client {
	return engine.NewClient(engine.NewMemStorage(), []byte(name), engine.Options{MaxMessageSize: maxMessage})
}

func keyPackage(ctx context.Context, c *engine.Client) ([]byte, error) {
	kp, err := c.CreateKeyPackage(ctx, suite1, false)
	if err != nil {
		return nil, fmt.Errorf("key package: %w", err)
	}
	return kp, nil
}

// newEngineGroup builds the sparse group of n members.
func newEngineGroup(ctx context.Context, n int) (*engineGroup, error) {
	if n < 2 {
		return nil, fmt.Errorf("n must be at least 2, got %d", n)
	}
	ac, bc := newClient("a"), newClient("b")
	a, err := ac.CreateGroup(ctx, suite1, []byte("bench"))
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	kps := make([][]byte, 0, n-1)
	for len(kps) < n-1 {
		c := bc
		if len(kps) > 0 {
			c = newClient("x")
		}
		kp, err := keyPackage(ctx, c)
		if err != nil {
			return nil, err
		}
		kps = append(kps, kp)
	}
	out, err := commit(ctx, a, engine.CommitOptions{Add: kps})
	if err != nil {
		return nil, err
	}
	b, err := bc.JoinFromWelcome(ctx, out.Welcome, nil)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	if got := len(b.Members()); got != n {
		return nil, fmt.Errorf("b sees %d members, want %d", got, n)
	}
	return &engineGroup{a: a, b: b}, nil
}

// commit creates a commit and merges it, as one operation.
func commit(ctx context.Context, g *engine.Group, o engine.CommitOptions) (*engine.CommitOutput, error) {
	out, err := g.Commit(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if _, err := g.MergePendingCommit(ctx); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return out, nil
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timer records one round's operation times.
type timer map[string]opTime

// time runs fn as operation op and records its wall and CPU time.
func (t timer) time(op string, fn func() error) error {
	c0, t0 := cpuTime(), time.Now()
	err := fn()
	wall, cpu := time.Since(t0), cpuTime()-c0
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	t[op] = opTime{WallMS: ms(wall), CPUMS: ms(cpu)}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// round runs every operation of ops once, as corecrypto.mjs does: a
// self-update, the add of a new client c (whose KeyPackage is made
// untimed, first) and c's join, the removal of c, and 100 bytes from a to
// b. The first error stops the round.
func (g *engineGroup) round(ctx context.Context) (timer, error) {
	cc := newClient("c")
	kp, err := keyPackage(ctx, cc)
	if err != nil {
		return nil, err
	}
	t := timer{}
	step := func(op string, fn func() error) {
		if err == nil {
			err = t.time(op, fn)
		}
	}
	epoch := g.b.Epoch()
	var out *engine.CommitOutput
	var leaf uint32
	var got *engine.Result
	msg := bytes.Repeat([]byte{'m'}, 100)
	step("self-update-commit", func() (err error) {
		out, err = commit(ctx, g.a, engine.CommitOptions{SelfUpdate: true})
		return err
	})
	step("self-update-process", func() error {
		_, err := g.b.Process(ctx, out.Commit)
		return err
	})
	step("add-commit", func() (err error) {
		out, err = commit(ctx, g.a, engine.CommitOptions{Add: [][]byte{kp}})
		return err
	})
	step("add-process", func() error {
		r, err := g.b.Process(ctx, out.Commit)
		if err != nil {
			return err
		}
		if r.Commit == nil || len(r.Commit.Added) != 1 {
			return fmt.Errorf("b saw no single added member")
		}
		leaf = r.Commit.Added[0].Index
		return nil
	})
	step("join", func() error {
		_, err := cc.JoinFromWelcome(ctx, out.Welcome, nil)
		return err
	})
	step("remove-commit", func() (err error) {
		out, err = commit(ctx, g.a, engine.CommitOptions{Remove: []uint32{leaf}})
		return err
	})
	step("remove-process", func() error {
		_, err := g.b.Process(ctx, out.Commit)
		return err
	})
	step("encrypt-decrypt", func() error {
		ct, err := g.a.Encrypt(ctx, msg, nil)
		if err != nil {
			return err
		}
		got, err = g.b.Process(ctx, ct)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(got.ApplicationData, msg) {
		return nil, fmt.Errorf("encrypt-decrypt: b decrypted other bytes than a sent")
	}
	if e := g.b.Epoch(); e != epoch+3 {
		return nil, fmt.Errorf("b is at epoch %d, want %d", e, epoch+3)
	}
	return t, nil
}

// mustEngineGroup is newEngineGroup that fails the test on error.
func mustEngineGroup(tb testing.TB, n int) *engineGroup {
	tb.Helper()
	g, err := newEngineGroup(context.Background(), n)
	if err != nil {
		tb.Fatalf("engine group of %d: %v", n, err)
	}
	return g
}
