package peerbench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// benchSizes are the group sizes of BenchmarkVersusCoreCrypto.
var benchSizes = []int{1000}

// benchRounds is how many interleaved rounds (one on each side) a run
// times; every figure is the median over them.
const benchRounds = 5

// samples collects each operation's times over the rounds of one side.
type samples map[string][]opTime

func (s samples) add(t map[string]opTime) {
	for op, v := range t {
		s[op] = append(s[op], v)
	}
}

// median returns the median wall and CPU time of op.
func (s samples) median(op string) opTime {
	var wall, cpu []float64
	for _, v := range s[op] {
		wall = append(wall, v.WallMS)
		cpu = append(cpu, v.CPUMS)
	}
	return opTime{WallMS: med(wall), CPUMS: med(cpu)}
}

func med(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// runBoth builds the sparse group of n members on both sides and runs
// rounds rounds, alternating engine and peer, so that drift on the shared
// machine falls on both alike.
func runBoth(tb testing.TB, n, rounds int) (engine, peer samples, setup *peerAnswer) {
	tb.Helper()
	ctx := context.Background()
	p := startPeer(tb)
	setup = p.call(map[string]any{"op": "setup", "n": n})
	g := mustEngineGroup(tb, n)
	engine, peer = samples{}, samples{}
	for r := 0; r < rounds; r++ {
		t, err := g.round(ctx)
		if err != nil {
			tb.Fatalf("engine round %d: %v", r, err)
		}
		engine.add(t)
		peer.add(p.call(map[string]any{"op": "round"}).Ops)
	}
	return engine, peer, setup
}

// BenchmarkVersusCoreCrypto runs the engine and core-crypto side by side
// on the sparse suite-1 group (see engineGroup and corecrypto.mjs), as
// BenchmarkVersusCoreCrypto/n=<size>. For every operation it reports the
// median milliseconds of each side over benchRounds interleaved rounds per
// b.N, <op>-engine-ms and <op>-peer-ms, and their ratio peer/engine in wall
// time (<op>-x) and in process CPU time (<op>-x-cpu); its log holds the
// same as a table with the CPU milliseconds and names the core-crypto
// binding that ran. The engine uses MemStorage, core-crypto an in-memory
// Database. Each call builds both groups anew, so run it with -benchtime 1x
// and -count for repetitions.
func BenchmarkVersusCoreCrypto(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			engine, peer, setup := runBoth(b, n, benchRounds*b.N)
			b.Logf("core-crypto %s (%s binding%s), %d rounds, medians:%s", setup.Version, setup.Binding, nativeNote(setup), benchRounds*b.N, table(engine, peer))
			b.ReportMetric(0, "ns/op")
			for _, op := range ops {
				e, p := engine.median(op), peer.median(op)
				b.ReportMetric(e.WallMS, op+"-engine-ms")
				b.ReportMetric(p.WallMS, op+"-peer-ms")
				b.ReportMetric(p.WallMS/e.WallMS, op+"-x")
				b.ReportMetric(p.CPUMS/e.CPUMS, op+"-x-cpu")
			}
		})
	}
}

// nativeNote says why the native binding was not used, if it was not.
func nativeNote(a *peerAnswer) string {
	if a.NativeError == "" {
		return ""
	}
	return "; native: " + a.NativeError
}

// table formats the medians of both sides, one operation a line.
func table(engine, peer samples) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-20s %10s %10s %8s %10s %10s %8s\n", "op", "engine ms", "peer ms", "ratio", "engine cpu", "peer cpu", "ratio")
	for _, op := range ops {
		e, p := engine.median(op), peer.median(op)
		fmt.Fprintf(&sb, "%-20s %10.3f %10.3f %8.1f %10.3f %10.3f %8.1f\n", op, e.WallMS, p.WallMS, p.WallMS/e.WallMS, e.CPUMS, p.CPUMS, p.CPUMS/e.CPUMS)
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

// TestCoreCryptoPeerWorks runs the harness on a small group: both sides
// must build it, report every operation of a round with a positive wall
// time and a CPU time that is not negative, and name a binding.
func TestCoreCryptoPeerWorks(t *testing.T) {
	const n, rounds = 8, 2
	engine, peer, setup := runBoth(t, n, rounds)
	if setup.Version == "" || (setup.Binding != "native" && setup.Binding != "wasm") {
		t.Errorf("setup answer names version %q, binding %q; want a version and native or wasm", setup.Version, setup.Binding)
	}
	for side, s := range map[string]samples{"engine": engine, "peer": peer} {
		for _, op := range ops {
			if got := len(s[op]); got != rounds {
				t.Errorf("%s %s: %d samples, want %d", side, op, got, rounds)
			}
			for _, v := range s[op] {
				if !(v.WallMS > 0) || math.IsInf(v.WallMS, 0) || !(v.CPUMS >= 0) || math.IsInf(v.CPUMS, 0) {
					t.Errorf("%s %s: wall %v ms, cpu %v ms; want wall > 0 and cpu >= 0, both finite", side, op, v.WallMS, v.CPUMS)
				}
			}
		}
		if len(s) != len(ops) {
			t.Errorf("%s reports %d operations, want %d (%v)", side, len(s), len(ops), ops)
		}
	}
}
