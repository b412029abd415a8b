package uploader

import (
	"errors"
	"testing"
	"time"
)

func TestSelect(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLayout("")
	mk := func(group string, epoch uint64, hours int) Manifest {
		ref, err := l.newRef([]byte(group), epoch, t0.Add(time.Duration(hours)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return Manifest{Ref: ref}
	}
	// g: epoch 5 at 1h, epoch 5 again at 2h, epoch 9 at 3h, epoch 7 at 4h
	// (an older epoch uploaded later, e.g. after a forced restore).
	ms := []Manifest{mk("g", 5, 1), mk("g", 5, 2), mk("g", 9, 3), mk("g", 7, 4), mk("h", 1, 0)}
	tests := []struct {
		name      string
		pick      func() (Manifest, error)
		wantEpoch uint64
		wantHour  int
		wantErr   error
	}{
		{"latest is highest epoch", func() (Manifest, error) { return Latest(ms, []byte("g")) }, 9, 3, nil},
		{"latest of other group", func() (Manifest, error) { return Latest(ms, []byte("h")) }, 1, 0, nil},
		{"latest of unknown group", func() (Manifest, error) { return Latest(ms, []byte("x")) }, 0, 0, ErrNoSnapshot},
		{"epoch picks latest created", func() (Manifest, error) { return SelectEpoch(ms, []byte("g"), 5) }, 5, 2, nil},
		{"missing epoch", func() (Manifest, error) { return SelectEpoch(ms, []byte("g"), 6) }, 0, 0, ErrNoSnapshot},
		{"before 2h30m", func() (Manifest, error) { return SelectBefore(ms, []byte("g"), t0.Add(150*time.Minute)) }, 5, 2, nil},
		{"before exactly 3h", func() (Manifest, error) { return SelectBefore(ms, []byte("g"), t0.Add(3*time.Hour)) }, 9, 3, nil},
		{"before 5h picks last created", func() (Manifest, error) { return SelectBefore(ms, []byte("g"), t0.Add(5*time.Hour)) }, 7, 4, nil},
		{"before everything", func() (Manifest, error) { return SelectBefore(ms, []byte("g"), t0) }, 0, 0, ErrNoSnapshot},
	}
	for _, tt := range tests {
		m, err := tt.pick()
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: got %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || m.Epoch != tt.wantEpoch || !m.Created.Equal(t0.Add(time.Duration(tt.wantHour)*time.Hour)) {
			t.Errorf("%s: got epoch %d created %v (%v), want epoch %d at %dh", tt.name, m.Epoch, m.Created, err, tt.wantEpoch, tt.wantHour)
		}
	}
	if gs := Groups(ms); len(gs) != 2 || string(gs[0]) != "g" || string(gs[1]) != "h" {
		t.Errorf("Groups = %q, want [g h]", gs)
	}
}
