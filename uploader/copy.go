package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// CopyFrom stores a copy of the complete snapshot m, read and checked
// from src, in b under the same key relative to the prefix: the age file
// byte for byte (its size and SHA-256 checked against m as it streams),
// then a new manifest with m's fields, signed by b's signing key as the
// next link of the group's chain at b (see doc.go, "Chain and head").
// The manifest is written last, so an interrupted copy leaves at most an
// orphan data object; a later CopyFrom of the same snapshot finds it,
// keeps it if it is the same age file, and writes the manifest. It needs
// b's signing key and lease, and only reads src. The caller checks the
// result ([Backup.ReadManifest], [Backup.VerifyCiphertext]) and writes a
// head ([Backup.WriteHead]).
func (b *Backup) CopyFrom(ctx context.Context, src *Backup, m Manifest) (Manifest, error) {
	switch {
	case b.codec.key == nil:
		return Manifest{}, ErrNoSigningKey
	case !m.Signed():
		// Signing it here would vouch for what nobody signed.
		return Manifest{}, objErr("copy", m.Key, ErrUnsigned)
	}
	file := manifestName
	if m.Inline() {
		file = inlineName
	}
	key := b.layout.join(src.layout.rel(m.Key))
	ref, got, ok := b.layout.parseKey(key)
	if !ok || got != file {
		return Manifest{}, objErr("copy", m.Key, errors.New("not a snapshot key of the source's layout"))
	}
	if err := b.ensureLease(ctx); err != nil {
		return Manifest{}, err
	}
	if err := b.ensureChain(ctx); err != nil {
		return Manifest{}, err
	}
	out := Manifest{Ref: ref, AgentID: m.AgentID, SnapshotFormat: m.SnapshotFormat,
		EpochAuthenticator: bytes.Clone(m.EpochAuthenticator),
		PlaintextSize:      m.PlaintextSize, PlaintextSHA256: m.PlaintextSHA256,
		CiphertextSize: m.CiphertextSize, CiphertextSHA256: m.CiphertextSHA256}
	var ct []byte
	if m.Inline() {
		rc, err := src.openSnapshot(ctx, "copy", m)
		if err != nil {
			return Manifest{}, err
		}
		defer rc.Close()
		if ct, err = io.ReadAll(rc); err != nil {
			return Manifest{}, objErr("copy", m.Key, checkErr(CheckDownload, err, ""))
		}
		cr := &hashReader{r: bytes.NewReader(ct), h: sha256.New()}
		if _, err := io.Copy(io.Discard, cr); err != nil {
			return Manifest{}, objErr("copy", m.Key, err)
		}
		if err := checkCiphertext(m, cr); err != nil {
			return Manifest{}, objErr("copy", m.Key, err)
		}
	} else if err := b.copyData(ctx, src, m, out); err != nil {
		return Manifest{}, err
	}
	if err := b.putManifest(ctx, &out, ct); err != nil {
		return Manifest{}, objErr("copy manifest", out.Key, err)
	}
	b.log.Info("copied snapshot", append(out.LogKeys(), "group", out.GroupHex(), "epoch", out.Epoch, "from", src.String())...)
	return out, nil
}

// copyData copies the age file of m from src to out.DataKey in b. A data
// object already there (an earlier copy interrupted before its manifest)
// is kept if its size and SHA-256 are m's.
func (b *Backup) copyData(ctx context.Context, src *Backup, m, out Manifest) error {
	rc, err := src.openSnapshot(ctx, "copy", m)
	if err != nil {
		return err
	}
	defer rc.Close()
	cr := &hashReader{r: rc, h: sha256.New()}
	err = b.store.Put(ctx, out.DataKey, cr, m.CiphertextSize, true)
	switch {
	case errors.Is(err, ErrExists):
		if verr := b.VerifyCiphertext(ctx, out); verr != nil {
			return objErr("copy", out.DataKey, fmt.Errorf("%w: an object that is not the source's age file is in the way (prune removes orphans)", ErrExists))
		}
		return nil
	case cr.err != nil:
		return objErr("copy", m.DataKey, checkErr(CheckDownload, cr.err, ""))
	case err != nil:
		return objErr("copy", out.DataKey, err)
	}
	if cerr := checkCiphertext(m, cr); cerr != nil {
		// The store took bytes that are not the age file m names: remove
		// them before a manifest could vouch for them.
		if derr := b.store.Delete(ctx, out.DataKey); derr != nil {
			cerr = errors.Join(cerr, derr)
		}
		return objErr("copy", m.DataKey, cerr)
	}
	return nil
}

// VerifyCiphertext downloads the age file of m and checks its size and
// SHA-256 against m, without decrypting: what a writer that holds no
// identity can check of what it wrote. Errors are [*ObjectError]s.
func (b *Backup) VerifyCiphertext(ctx context.Context, m Manifest) error {
	rc, err := b.openSnapshot(ctx, "verify", m)
	if err != nil {
		return err
	}
	defer rc.Close()
	key := m.DataKey
	if m.Inline() {
		key = m.Key
	}
	cr := &hashReader{r: rc, h: sha256.New()}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return objErr("verify", key, checkErr(CheckDownload, err, ""))
	}
	return objErr("verify", key, checkCiphertext(m, cr))
}

// Retire deletes the complete snapshot of ref: its manifest first, so
// that it leaves List at once, then its data (a crash in between leaves
// an orphan that [Backup.Prune] removes). It needs the prefix's lease.
// The caller keeps the group's chain whole: it retires a group's oldest
// snapshots first.
func (b *Backup) Retire(ctx context.Context, ref Ref) error {
	if err := b.ensureLease(ctx); err != nil {
		return err
	}
	return b.deleteSnapshot(ctx, "retire", ref)
}

// deleteSnapshot deletes ref's manifest, then its data object.
func (b *Backup) deleteSnapshot(ctx context.Context, op string, ref Ref) error {
	if err := b.store.Delete(ctx, ref.Key); err != nil {
		return objErr(op, ref.Key, err)
	}
	if !ref.Inline() {
		if err := b.store.Delete(ctx, ref.DataKey); err != nil {
			return objErr(op, ref.DataKey, err)
		}
	}
	return nil
}
