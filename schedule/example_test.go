package schedule_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mlsbackup/mlsbackup/schedule"
)

func Example() {
	epochs := map[string]uint64{}
	snap := schedule.SnapshotterFunc(func(_ context.Context, group []byte, reason schedule.Reason) (uint64, error) {
		// The agent exports, encrypts and uploads here.
		fmt.Printf("snapshot %s at epoch %d (%s)\n", group, epochs[string(group)], reason)
		return epochs[string(group)], nil
	})
	cfg := schedule.Default()
	cfg.EveryEpochs = 3
	cfg.BeforeRemove = true
	s, err := schedule.New(cfg, schedule.Deps{
		Snapshotter: snap,
		Clock:       schedule.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	for e := uint64(1); e <= 7; e++ {
		epochs["chat"] = e
		s.EpochChanged([]byte("chat"), e)
		_ = s.WaitIdle(ctx)
	}
	// The application removes a member: snapshot first, remove only if it worked.
	if err := s.BeforeRemove(ctx, []byte("chat")); err != nil {
		fmt.Println("not removing:", err)
	}

	stop() // graceful: snapshots in flight finish
	fmt.Println("run:", <-done)
	// Output:
	// snapshot chat at epoch 3 (epoch)
	// snapshot chat at epoch 6 (epoch)
	// snapshot chat at epoch 7 (before-remove)
	// run: <nil>
}
