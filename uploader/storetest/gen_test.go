package storetest

import (
	"bytes"
	"io"
	"testing"
)

func TestStream(t *testing.T) {
	tests := []struct {
		seed uint64
		n    int64
	}{
		{1, 0},
		{1, 1},
		{1, 100000},
		{2, 100000},
	}
	sums := map[string]bool{}
	for _, tc := range tests {
		a := NewStream(tc.seed, tc.n)
		got, err := io.ReadAll(a)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(got)) != tc.n {
			t.Fatalf("seed %d: %d bytes, want %d", tc.seed, len(got), tc.n)
		}
		// The same seed gives the same bytes, however they are read.
		b := NewStream(tc.seed, tc.n)
		var again bytes.Buffer
		if _, err := io.CopyBuffer(&again, struct{ io.Reader }{b}, make([]byte, 7)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, again.Bytes()) {
			t.Fatalf("seed %d: two reads differ", tc.seed)
		}
		sum, n, err := HashReader(bytes.NewReader(got))
		if err != nil || n != tc.n || !bytes.Equal(sum, a.Sum()) || !bytes.Equal(sum, b.Sum()) {
			t.Fatalf("seed %d: Sum does not match the bytes read", tc.seed)
		}
		sums[string(sum)] = true
	}
	if len(sums) != len(tests) {
		t.Fatalf("%d distinct streams of %d", len(sums), len(tests))
	}
}
