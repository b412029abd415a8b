package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/internal/atomicfile"
)

// diagnoseLimit bounds how much of an object that failed to decrypt is
// still downloaded to tell a damaged object from a wrong identity.
const diagnoseLimit = 64 << 20

// Verify downloads the snapshot of m, decrypts it with the identities and
// checks the ciphertext's size and SHA-256, the plaintext's size and
// SHA-256, and that m's group and epoch are those of its keys. Errors are
// [*ObjectError]s naming the object and wrap [ErrCorrupt], [ErrNoIdentity]
// or the store's error.
func (b *Backup) Verify(ctx context.Context, m Manifest) error {
	return b.fetch(ctx, "verify", m, io.Discard)
}

// Fetch decrypts the snapshot of m to w, with the checks of
// [Backup.Verify]. The checksums are known only at the end, and age
// authenticates each 64 KiB chunk as it goes: on error, w may have
// received an authentic but incomplete prefix. Use [Backup.FetchFile] to
// write a file.
func (b *Backup) Fetch(ctx context.Context, m Manifest, w io.Writer) error {
	return b.fetch(ctx, "fetch", m, w)
}

// FetchFile decrypts the snapshot of m into the file at path (mode 0600)
// through a temporary file that is renamed over path only after every
// check passed: a damaged object, a wrong identity or an interrupted
// download never replaces an existing file.
func (b *Backup) FetchFile(ctx context.Context, m Manifest, path string) error {
	var fetchErr error
	err := atomicfile.WriteFrom(b.opts.FS, path, 0o600, func(w io.Writer) error {
		fetchErr = b.fetch(ctx, "fetch", m, w)
		return fetchErr
	})
	if fetchErr != nil {
		return fetchErr // already names the object
	}
	return err
}

// hashReader counts and hashes what is read through it and remembers the
// underlying reader's first error other than EOF.
type hashReader struct {
	r      io.Reader
	h      hash.Hash
	n      int64
	err    error
	onRead func(n int64)
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if n > 0 && h.onRead != nil {
		h.onRead(h.n)
	}
	if err != nil && err != io.EOF && h.err == nil {
		h.err = err
	}
	return n, err
}

// errWriter remembers the first error of the destination writer, to tell
// it from a decryption error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

func (b *Backup) fetch(ctx context.Context, op string, m Manifest, w io.Writer) (err error) {
	key, want := m.DataKey, dataName
	if m.Inline() {
		key, want = m.Key, inlineName
	}
	if len(b.opts.Identities) == 0 {
		return objErr(op, key, ErrNoIdentities)
	}
	if ref, file, ok := b.layout.parseKey(key); !ok || file != want ||
		!bytes.Equal(ref.GroupID, m.GroupID) || ref.Epoch != m.Epoch || ref.Key != m.Key {
		return objErr(op, key, fmt.Errorf("%w: manifest for group %s epoch %d does not match the object key",
			ErrCorrupt, m.GroupHex(), m.Epoch))
	}
	report := func(done int64, final bool, err error) {
		b.opts.Progress.Report(ProgressEvent{Op: "download", Name: m.String(), Done: done,
			Total: m.CiphertextSize, Final: final, Err: err})
	}
	rc, err := b.openSnapshot(ctx, op, m)
	if err != nil {
		return err
	}
	defer rc.Close()
	cr := &hashReader{r: rc, h: sha256.New(), onRead: func(n int64) { report(n, false, nil) }}
	defer func() { report(cr.n, true, err) }()

	dec, err := age.Decrypt(cr, b.opts.Identities...)
	if err != nil {
		return objErr(op, key, b.diagnose(m, cr, err))
	}
	ph := sha256.New()
	ew := &errWriter{w: w}
	pn, err := io.Copy(io.MultiWriter(ew, ph), dec)
	switch {
	case ew.err != nil:
		return objErr(op, key, fmt.Errorf("write plaintext: %w", ew.err))
	case err != nil:
		return objErr(op, key, b.diagnose(m, cr, err))
	}
	// age stops at its final chunk; anything after it still counts.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return objErr(op, key, checkErr(CheckDownload, err, ""))
	}
	if err := checkCiphertext(m, cr); err != nil {
		return objErr(op, key, err)
	}
	var psum [32]byte
	ph.Sum(psum[:0])
	switch {
	case pn != m.PlaintextSize:
		return objErr(op, key, checkErr(CheckChecksums, ErrCorrupt, "snapshot has %d bytes, manifest says %d", pn, m.PlaintextSize))
	case psum != m.PlaintextSHA256:
		return objErr(op, key, checkErr(CheckChecksums, ErrCorrupt, "snapshot sha-256 %s, manifest says %s",
			hex.EncodeToString(psum[:]), hex.EncodeToString(m.PlaintextSHA256[:])))
	}
	if ctx.Err() != nil {
		return objErr(op, key, ctx.Err())
	}
	return nil
}

// openSnapshot opens the age file of m: its data object, or the copy
// inside an inline snapshot's object, which is read again (m's checksums,
// not the re-read object's, judge it).
func (b *Backup) openSnapshot(ctx context.Context, op string, m Manifest) (io.ReadCloser, error) {
	if !m.Inline() {
		rc, err := b.store.Get(ctx, m.DataKey)
		if err != nil {
			return nil, objErr(op, m.DataKey, checkErr(CheckDownload, err, ""))
		}
		return rc, nil
	}
	data, err := b.readObject(ctx, m.Key, maxManifestSize)
	if err != nil {
		return nil, objErr(op, m.Key, err)
	}
	ct, err := inlineOf(data)
	if err != nil {
		return nil, objErr(op, m.Key, err)
	}
	return io.NopCloser(bytes.NewReader(ct)), nil
}

// checkCiphertext compares what cr read with the manifest.
func checkCiphertext(m Manifest, cr *hashReader) error {
	var sum [32]byte
	cr.h.Sum(sum[:0])
	switch {
	case cr.n != m.CiphertextSize:
		return checkErr(CheckChecksums, ErrCorrupt, "object is %d bytes, manifest says %d (truncated or replaced)", cr.n, m.CiphertextSize)
	case sum != m.CiphertextSHA256:
		return checkErr(CheckChecksums, ErrCorrupt, "object sha-256 %s, manifest says %s (damaged or replaced)",
			hex.EncodeToString(sum[:]), hex.EncodeToString(m.CiphertextSHA256[:]))
	}
	return nil
}

// diagnose explains a decryption failure: a transport error is returned as
// is; otherwise the rest of the object (up to diagnoseLimit) is read so
// that a damaged object (its checksum differs from the manifest) is told
// apart from a wrong identity.
func (b *Backup) diagnose(m Manifest, cr *hashReader, ageErr error) error {
	if cr.err != nil {
		return checkErr(CheckDownload, cr.err, "")
	}
	var noMatch *age.NoIdentityMatchError
	wrongID := errors.As(ageErr, &noMatch)
	if !wrongID || m.CiphertextSize <= diagnoseLimit {
		var rest io.Reader = cr
		if wrongID {
			rest = io.LimitReader(cr, diagnoseLimit+1)
		}
		if _, err := io.Copy(io.Discard, rest); err != nil {
			return checkErr(CheckDownload, err, "")
		}
		if err := checkCiphertext(m, cr); err != nil {
			return fmt.Errorf("%w; age: %v", err, ageErr)
		}
	}
	if wrongID {
		return checkErr(CheckDecrypt, ErrNoIdentity, "%d identities tried; is this the identity for this backup's recipients?",
			len(b.opts.Identities))
	}
	return checkErr(CheckDecrypt, ErrCorrupt, "age: %v", ageErr)
}
