package localstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// The kill test re-executes the test binary as a workload process.
const (
	childEnv    = "LOCALSTORE_KILL_CHILD_DIR"
	killGroups  = 4
	killRetain  = 10
	inputGroup  = 0 // group whose operations log their input (incoming messages)
	killedRound = 120
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := runChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func killGroup(g int) []byte { return []byte(fmt.Sprintf("kill-%d", g)) }

// killOp is operation i (from 1) of group g: a deterministic batch.
func killOp(g, i int) *engine.Batch {
	rng := rand.New(rand.NewPCG(uint64(g), uint64(i)))
	gid := killGroup(g)
	k := func(kind engine.Kind, name string) engine.Key { return engine.Key{Group: gid, Kind: kind, Name: name} }
	val := func() []byte {
		v := make([]byte, 32+rng.IntN(96))
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		return v
	}
	b := &engine.Batch{Op: "Op", Group: gid, Puts: []engine.Put{
		{Key: k(engine.KindState, "progress"), Value: []byte(strconv.Itoa(i))},
		{Key: k(engine.KindState, fmt.Sprintf("c_%d", rng.IntN(8))), Value: val()},
	}}
	if rng.IntN(5) == 0 {
		b.Deletes = append(b.Deletes, k(engine.KindState, fmt.Sprintf("c_%d", rng.IntN(8))))
	}
	if i%3 == 0 {
		b.Puts = append(b.Puts, engine.Put{Key: k(engine.KindEpochSecrets, fmt.Sprintf("epoch_%d.bin", i/3)), Value: val()})
	}
	return b
}

func killInput(g, i int) []byte { return []byte(fmt.Sprintf("message %d of group %d", i, g)) }

// killModel folds operations into the expected components of one group.
type killModel struct {
	upTo int
	m    map[string][]byte
}

func (km *killModel) advance(g, to int) {
	for ; km.upTo < to; km.upTo++ {
		b := killOp(g, km.upTo+1)
		for _, d := range b.Deletes {
			delete(km.m, localstore.KeyString(d))
		}
		var epochs []string
		for _, p := range b.Puts {
			km.m[localstore.KeyString(p.Key)] = p.Value
		}
		prefix := localstore.KeyString(engine.Key{Group: killGroup(g), Kind: engine.KindEpochSecrets})
		for k := range km.m {
			if n, ok := strings.CutPrefix(k, prefix); ok {
				epochs = append(epochs, n)
			}
		}
		for _, n := range localstore.ExpiredEpochs(epochs, killRetain) {
			delete(km.m, prefix+n)
		}
	}
}

func progress(ctx context.Context, s *localstore.Store, g int) (int, error) {
	v, err := s.Get(ctx, engine.Key{Group: killGroup(g), Kind: engine.KindState, Name: "progress"})
	if errors.Is(err, engine.ErrNotFound) {
		return 0, nil // a group not yet created is at 0
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(v))
}

// runChild applies operations to every group concurrently until killed,
// printing "ack <group> <op>" after each acknowledged one.
func runChild(dir string) error {
	ctx := context.Background()
	s, _, err := localstore.Open(ctx, fsx.OS{}, dir, localstore.Options{EpochRetention: killRetain})
	if err != nil {
		return err
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, killGroups)
	for g := range killGroups {
		p, err := progress(ctx, s, g)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p + 1; ; i++ {
				var err error
				if g == inputGroup {
					var op *localstore.Op
					if op, err = s.Begin(ctx, "ProcessMessage", killInput(g, i)); err == nil {
						err = op.Apply(ctx, killOp(g, i))
					}
				} else {
					err = s.Apply(ctx, killOp(g, i))
				}
				if err != nil {
					errs <- err
					return
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %d\n", g, i)
				out.Unlock()
			}
		}()
	}
	wg.Wait()
	return <-errs
}

func TestKillNine(t *testing.T) {
	rounds := killedRound
	if testing.Short() {
		rounds = 10
	}
	ctx := context.Background()
	dir := t.TempDir()
	models := make([]*killModel, killGroups)
	for g := range models {
		models[g] = &killModel{m: map[string][]byte{}}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	totalAcked, pendingSeen := 0, 0
	for round := range rounds {
		acked := make([]int, killGroups)
		for g := range acked {
			acked[g] = models[g].upTo
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for the first ack (the child is running), then a random moment.
		first := <-lines
		killAt := time.After(time.Duration(rng.IntN(40_000)) * time.Microsecond)
		n := 0
		handle := func(l string) {
			var g, i int
			if _, err := fmt.Sscanf(l, "ack %d %d", &g, &i); err != nil {
				t.Fatalf("round %d: bad line %q", round, l)
			}
			if i != acked[g]+1 {
				t.Fatalf("round %d: group %d acked %d after %d", round, g, i, acked[g])
			}
			acked[g] = i
			n++
		}
		if first != "" {
			handle(first)
		}
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				handle(l)
			case <-killAt:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killAt = nil
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child was not killed: %v\n%s", round, err, stderr.String())
		}
		totalAcked += n

		s, rep, err := localstore.Open(ctx, fsx.OS{}, dir, localstore.Options{EpochRetention: killRetain})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		for g := range killGroups {
			p, err := progress(ctx, s, g)
			if err != nil {
				t.Fatal(err)
			}
			if p < acked[g] || p > acked[g]+1 {
				t.Fatalf("round %d: group %d at op %d, acknowledged %d", round, g, p, acked[g])
			}
			models[g].advance(g, p)
			comps, err := s.GroupComponents(ctx, killGroup(g))
			if err != nil {
				t.Fatalf("round %d: group %d: %v", round, g, err)
			}
			got := map[string][]byte{}
			for _, c := range comps {
				got[localstore.KeyString(c.Key)] = c.Value
			}
			if fmt.Sprint(got) != fmt.Sprint(models[g].m) {
				t.Fatalf("round %d: group %d components differ from the model after op %d", round, g, p)
			}
		}
		for _, pi := range rep.PendingInputs {
			// Only the in-flight incoming message can be pending.
			want := killInput(inputGroup, models[inputGroup].upTo+1)
			if string(pi.Input) != string(want) {
				t.Fatalf("round %d: pending input %q, want %q", round, pi.Input, want)
			}
			pendingSeen++
			if err := s.DropPending(ctx, pi.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d SIGKILLs, %d acknowledged operations, none lost; %d pending inputs recovered", rounds, totalAcked, pendingSeen)
}
