package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// TestTruncatedKeyPackageSaysTruncated is issue 15's "a truncated key
// package reports credential type 36455 at offset 11 (the fallback
// decoder's error)": a key package cut anywhere reports the MLSMessage
// decoder's truncation, from every entry point that decodes one.
func TestTruncatedKeyPackageSaysTruncated(t *testing.T) {
	ctx := context.Background()
	kp := newMember("bob").keyPackage(t, suite1)
	alice := newMember("alice")
	g, err := alice.client.CreateGroup(ctx, suite1, []byte("truncated"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 4; n < len(kp); n++ {
		cut := kp[:n]
		for name, err := range map[string]error{
			"ValidateKeyPackage": ValidateKeyPackage(cut, zeroTime),
			"Commit":             commitAdd(ctx, g, cut),
		} {
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, codec.ErrShort) || !strings.Contains(err.Error(), "truncated") ||
				strings.Contains(err.Error(), "credential type") {
				t.Fatalf("%s of the first %d of %d bytes: %v, want a malformed, truncated key package", name, n, len(kp), err)
			}
		}
	}
}

func commitAdd(ctx context.Context, g *Group, kp []byte) error {
	_, err := g.Commit(ctx, CommitOptions{Add: [][]byte{kp}})
	return err
}
