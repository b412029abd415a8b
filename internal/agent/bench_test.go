package agent

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/mlsbackup/mlsbackup/schedule"
)

// BenchmarkSnapshotPass measures a pass that snapshots (export, local file,
// age encryption, upload to a directory bucket) every one of n groups, with
// the scheduler's default concurrency of 4. One op is one group.
func BenchmarkSnapshotPass(b *testing.B) {
	for _, n := range []int{100} {
		b.Run(fmt.Sprintf("groups=%d", n), func(b *testing.B) {
			ta := newBenchAgent(b)
			ctx := context.Background()
			ids := make([][]byte, n)
			for i := range ids {
				ids[i] = []byte(fmt.Sprintf("bench-%05d", i))
				if _, err := ta.Create(ctx, "", ids[i], 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; {
				var wg sync.WaitGroup
				work := make(chan []byte)
				for w := 0; w < benchWorkers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for id := range work {
							if _, err := ta.snapshot(ctx, id, schedule.ReasonRequest); err != nil {
								b.Error(err)
							}
						}
					}()
				}
				for j := 0; j < n && i < b.N; j, i = j+1, i+1 {
					work <- ids[j]
				}
				close(work)
				wg.Wait()
			}
		})
	}
}

// benchWorkers is the scheduler's concurrency the agent configures.
const benchWorkers = snapshotConcurrency
