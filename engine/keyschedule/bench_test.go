package keyschedule

import (
	"bytes"
	"testing"
)

// BenchmarkKeySchedule measures entering an epoch (suite 1) and one
// exporter call.
func BenchmarkKeySchedule(b *testing.B) {
	s := allSuites(b)[0]
	init := bytes.Repeat([]byte{1}, s.Nh())
	commit := bytes.Repeat([]byte{2}, s.Nh())
	gc := bytes.Repeat([]byte{3}, 120)
	b.Run("Next", func(b *testing.B) {
		for b.Loop() {
			if _, err := Next(s, init, commit, nil, gc); err != nil {
				b.Fatal(err)
			}
		}
	})
	e, err := Next(s, init, commit, nil, gc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Export", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Export(s, "app", []byte("ctx"), 32); err != nil {
				b.Fatal(err)
			}
		}
	})
}
