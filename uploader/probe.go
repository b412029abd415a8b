package uploader

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// probeDir holds the probe objects of [Backup.Probe], outside everything
// the layout reads.
const probeDir = "check"

// ErrNoConditionalWrite: the store overwrote an object that a conditional
// create (If-None-Match: *) should have refused, so two writers could
// silently overwrite each other.
var ErrNoConditionalWrite = errors.New("uploader: the store does not refuse a conditional create of an existing key (If-None-Match)")

// ProbeError is a failed step of [Backup.Probe]: "write", "overwrite"
// (the conditional create that must be refused), "read" or "delete".
type ProbeError struct {
	Step string
	Key  string
	Err  error
}

// Error implements error.
func (e *ProbeError) Error() string {
	return fmt.Sprintf("probe %s %s: %v", e.Step, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *ProbeError) Unwrap() error { return e.Err }

// Probe checks that this backup set can be written as uploads write it:
// it creates a small random object P/check/<R>.probe with a conditional
// create, checks that a second conditional create of that key is refused
// ([ErrNoConditionalWrite] if not), reads the object back, compares it and
// deletes it. Failures are a [*ProbeError] naming the step. It needs no
// lease: nothing reads the probe's key, and a probe that a crash leaves
// behind harms nothing (see doc.go, "Remote layout").
func (b *Backup) Probe(ctx context.Context) error {
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	key := b.layout.join(probeDir, hex.EncodeToString(rnd[:8])+".probe")
	body := []byte("mlsbackup probe " + hex.EncodeToString(rnd[:]) + "\n")
	put := func() error {
		return b.store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), true)
	}
	if err := put(); err != nil {
		return &ProbeError{Step: "write", Key: key, Err: err}
	}
	err := put()
	switch {
	case err == nil:
		err = ErrNoConditionalWrite
	case errors.Is(err, ErrExists):
		err = nil
	}
	if err != nil {
		b.deleteProbe(ctx, key)
		return &ProbeError{Step: "overwrite", Key: key, Err: err}
	}
	if err := b.readProbe(ctx, key, body); err != nil {
		b.deleteProbe(ctx, key)
		return &ProbeError{Step: "read", Key: key, Err: err}
	}
	if err := b.store.Delete(ctx, key); err != nil {
		return &ProbeError{Step: "delete", Key: key, Err: err}
	}
	return nil
}

func (b *Backup) readProbe(ctx context.Context, key string, want []byte) error {
	rc, err := b.store.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	got, err := io.ReadAll(io.LimitReader(rc, int64(len(want))+1))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: read back %d bytes that differ from the %d written", ErrCorrupt, len(got), len(want))
	}
	return nil
}

// deleteProbe removes a probe after a failed step, as far as it can.
func (b *Backup) deleteProbe(ctx context.Context, key string) {
	if err := b.store.Delete(ctx, key); err != nil {
		b.log.Warn("probe: could not delete the probe object; it harms nothing and may be deleted by hand", "key", key, "err", err)
	}
}
