package localstore

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
)

func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch(&engine.Batch{Op: "Commit", Group: []byte("g"),
		Puts:    []engine.Put{{Key: engine.Key{Group: []byte("g"), Kind: engine.KindState, Name: "context"}, Value: []byte("v")}},
		Deletes: []engine.Key{{Kind: engine.KindKeys, Name: "kp"}}}))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := decodeBatch(p)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		if got := encodeBatch(b); !bytes.Equal(got, p) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", got, p)
		}
	})
}

func FuzzDecodeComponent(f *testing.F) {
	f.Add(encodeComponent([]byte("value")))
	f.Add(encodeSnapshot(7, []byte("snapshot")))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := decodeComponent("c", b); err == nil && !bytes.Equal(encodeComponent(v), b) {
			t.Fatalf("component re-encoding differs")
		}
		if e, v, err := decodeSnapshot("s", b); err == nil && !bytes.Equal(encodeSnapshot(e, v), b) {
			t.Fatalf("snapshot re-encoding differs")
		}
	})
}
