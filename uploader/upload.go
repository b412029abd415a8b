package uploader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// SnapshotMeta describes a snapshot handed to [Backup.Upload].
type SnapshotMeta struct {
	// GroupID is the MLS group id: 1 to [MaxGroupIDLen] bytes.
	GroupID []byte
	// Epoch is the group's epoch in the snapshot.
	Epoch uint64
	// Created is when the snapshot was cut; zero means now.
	Created time.Time
	// Size is the plaintext size if known (lets stores upload with a
	// known length; a mismatch fails the upload); 0 means unknown.
	Size int64
	// Format names the snapshot's plaintext format, recorded as is.
	Format string
	// EpochAuthenticator is recorded hex-encoded in the manifest if set.
	EpochAuthenticator []byte
}

func (m SnapshotMeta) validate() error {
	switch {
	case len(m.GroupID) == 0:
		return fmt.Errorf("%w: empty group id", ErrBadMeta)
	case len(m.GroupID) > MaxGroupIDLen:
		return fmt.Errorf("%w: group id of %d bytes (max %d)", ErrBadMeta, len(m.GroupID), MaxGroupIDLen)
	case m.Size < 0:
		return fmt.Errorf("%w: negative size", ErrBadMeta)
	}
	return nil
}

// Upload encrypts the snapshot read from r to the recipients and stores
// it, streaming: the snapshot passes through in 64 KiB chunks and is never
// held in memory whole. The encrypted object is written first, then the
// manifest, each with a conditional create; the snapshot becomes visible
// to List only when the manifest is written. A snapshot whose encrypted
// form is at most Options.InlineMax bytes is instead stored inline: one
// conditional create of its manifest with the age file inside. On any error nothing becomes
// visible: an interrupted object write leaves nothing, and a data object
// whose manifest could not be written is an orphan that [Backup.Prune]
// removes later. Upload cannot retry by itself (r is read once); callers
// retry with a fresh reader. It fails with a [*LeaseError] if another agent
// holds the prefix.
func (b *Backup) Upload(ctx context.Context, meta SnapshotMeta, r io.Reader) (Manifest, error) {
	if err := meta.validate(); err != nil {
		return Manifest{}, err
	}
	if len(b.opts.Recipients) == 0 {
		return Manifest{}, ErrNoRecipients
	}
	if b.codec.key == nil && !b.opts.AllowUnsigned {
		return Manifest{}, ErrNoSigningKey
	}
	if err := b.ensureLease(ctx); err != nil {
		return Manifest{}, err
	}
	if b.codec.key != nil {
		if err := b.ensureChain(ctx); err != nil {
			return Manifest{}, err
		}
	}
	created := meta.Created
	if created.IsZero() {
		created = b.opts.Now()
	}
	ref, err := b.layout.newRef(meta.GroupID, meta.Epoch, created)
	if err != nil {
		return Manifest{}, err
	}
	start := b.opts.Now()
	total := int64(-1)
	if meta.Size > 0 {
		total = meta.Size
	}
	report := func(done int64, final bool, err error) {
		b.opts.Progress.Report(ProgressEvent{Op: "upload", Name: ref.String(), Done: done, Total: total, Final: final, Err: err})
	}
	enc, err := newEncryptor(r, meta.Size, b.opts.Recipients, func(done int64) { report(done, false, nil) })
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if b.inlineable(enc) {
		m, err = b.uploadInline(ctx, ref.inlined(), meta, enc)
	} else {
		m, err = b.upload(ctx, ref, meta, enc)
	}
	report(enc.ptN, true, err)
	if err != nil {
		return Manifest{}, err
	}
	b.log.Info("uploaded snapshot", append(m.LogKeys(), "group", ref.GroupHex(), "epoch", ref.Epoch,
		"plaintext_bytes", m.PlaintextSize, "ciphertext_bytes", m.CiphertextSize,
		"duration", b.opts.Now().Sub(start))...)
	return m, nil
}

func (b *Backup) upload(ctx context.Context, ref Ref, meta SnapshotMeta, enc *encryptor) (Manifest, error) {
	size := enc.size()
	if err := b.store.Put(ctx, ref.DataKey, enc, size, true); err != nil {
		// Prefer our own error (reader failure, size mismatch) to the
		// store's rendering of it.
		if enc.err != nil && !errors.Is(err, enc.err) {
			err = fmt.Errorf("%w (store: %v)", enc.err, err)
		}
		return Manifest{}, objErr("upload", ref.DataKey, err)
	}
	if !enc.done && enc.err == nil {
		// A store may stop reading at the declared size without asking
		// for EOF: the stream must be exhausted there.
		var probe [1]byte
		if n, err := enc.Read(probe[:]); n != 0 || err != io.EOF {
			enc.err = fmt.Errorf("snapshot stream continues past the stored %d bytes", enc.ctN-int64(n))
		}
	}
	if !enc.done || enc.err != nil || (size >= 0 && enc.ctN != size) {
		// The store returned success without consuming the whole stream.
		return Manifest{}, objErr("upload", ref.DataKey,
			fmt.Errorf("store accepted %d of the object's bytes; the object is left as an orphan", enc.ctN))
	}
	m := b.manifest(ref, meta, enc)
	if err := b.putManifest(ctx, &m, nil); err != nil {
		// The data object stays: if the manifest did land despite the
		// error, deleting the data would leave a visible broken snapshot.
		return Manifest{}, objErr("write manifest", ref.Key, err)
	}
	return m, nil
}

// inlineable reports whether the snapshot is to be stored inline: its
// whole ciphertext, at most Options.InlineMax bytes, is then buffered in
// enc. A snapshot of known size that cannot fit is not read ahead.
func (b *Backup) inlineable(enc *encryptor) bool {
	limit := b.opts.InlineMax
	if limit <= 0 {
		return false
	}
	if size := enc.size(); size > limit {
		return false
	}
	return enc.prefetch(int(limit))
}

// uploadInline stores the snapshot of enc, wholly buffered, inside its
// manifest under ref.Key with one conditional create.
func (b *Backup) uploadInline(ctx context.Context, ref Ref, meta SnapshotMeta, enc *encryptor) (Manifest, error) {
	ct, err := io.ReadAll(enc) // hashes and counts the ciphertext
	if err != nil {
		return Manifest{}, objErr("upload", ref.Key, err)
	}
	m := b.manifest(ref, meta, enc)
	if err := b.putManifest(ctx, &m, ct); err != nil {
		return Manifest{}, objErr("upload", ref.Key, err)
	}
	return m, nil
}

// putManifest writes the manifest object of m (with the age file ct if
// inline): signed, as the next link of its group's chain, or unsigned
// without a signing key.
func (b *Backup) putManifest(ctx context.Context, m *Manifest, ct []byte) error {
	if b.codec.key != nil {
		return b.putSigned(ctx, m, ct)
	}
	data, err := b.codec.encode(m, ct)
	if err != nil {
		return err
	}
	return b.putObject(ctx, m.Key, data)
}

// putObject creates the object key with data (a conditional create).
func (b *Backup) putObject(ctx context.Context, key string, data []byte) error {
	return b.store.Put(ctx, key, bytes.NewReader(data), int64(len(data)), true)
}

// manifest describes the snapshot that enc encrypted completely.
func (b *Backup) manifest(ref Ref, meta SnapshotMeta, enc *encryptor) Manifest {
	pt, ct := enc.sums()
	m := Manifest{
		Ref:                ref,
		AgentID:            b.opts.AgentID,
		SnapshotFormat:     meta.Format,
		EpochAuthenticator: bytes.Clone(meta.EpochAuthenticator),
		PlaintextSize:      enc.ptN,
		PlaintextSHA256:    pt,
		CiphertextSize:     enc.ctN,
		CiphertextSHA256:   ct,
	}
	if len(m.EpochAuthenticator) == 0 {
		m.EpochAuthenticator = nil
	}
	return m
}
