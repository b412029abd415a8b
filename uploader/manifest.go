package uploader

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Manifest format identifiers; see doc.go.
const (
	// ManifestFormat is the "format" field of every manifest.
	ManifestFormat = "mlsbackup-snapshot-manifest"
	// ManifestVersion is the version of a manifest next to its separate
	// snapshot.age object.
	ManifestVersion = 1
	// ManifestVersionInline is the version of an inline snapshot's
	// manifest, which carries the age file in its "inline" field.
	ManifestVersionInline = 2
	// ManifestVersionSigned is the version of a signed manifest's payload
	// (the envelope's version is [EnvelopeVersion], the same number).
	ManifestVersionSigned = 3
	// Encryption names the encryption of the snapshot object.
	Encryption = "age-v1"
	// MaxInline is the largest encrypted snapshot that may be stored
	// inline (the bound of [Options].InlineMax).
	MaxInline = 64 << 10
	// maxManifestSize bounds what is read of a manifest object: an inline
	// snapshot of MaxInline bytes in base64, plus the manifest's fields
	// (the signed payload, in base64 too).
	maxManifestSize = 128 << 10
	// objectInline is the payload's "object" of an inline snapshot.
	objectInline = "inline"
)

// Manifest describes one complete, uploaded snapshot. It is stored as JSON
// next to the encrypted snapshot and written last, so that its presence
// marks the snapshot complete; an inline snapshot ([Ref.Inline]) is its
// manifest alone, with the encrypted snapshot inside.
type Manifest struct {
	Ref
	// AgentID is the id of the agent that uploaded the snapshot.
	AgentID string
	// SnapshotFormat names the format of the plaintext (given by the
	// caller of Upload, e.g. the engine's snapshot format name).
	SnapshotFormat string
	// EpochAuthenticator is the group's epoch authenticator at the
	// snapshot's epoch, if the caller recorded it; restore can compare it.
	EpochAuthenticator []byte
	// PlaintextSize and PlaintextSHA256 describe the snapshot bytes.
	PlaintextSize   int64
	PlaintextSHA256 [32]byte
	// CiphertextSize and CiphertextSHA256 describe the stored age object.
	CiphertextSize   int64
	CiphertextSHA256 [32]byte

	// Signer signed the manifest (its signature verified when read); zero
	// for an unsigned manifest of version 1 or 2, which is read only with
	// Options.AllowUnsigned. The fields below are zero then too.
	Signer Signer
	// Sequence is the manifest's place in its prefix: every signed object
	// of the prefix takes the next number (see doc.go, "Chain and head").
	Sequence uint64
	// Prev is the group's previous manifest, nil for the group's first.
	Prev *Link
	// Head is the sequence of the newest head its writer had written
	// when it signed (0: none yet).
	Head uint64
	// PayloadSHA256 is the SHA-256 of the signed payload: what the next
	// manifest's Prev and the heads name.
	PayloadSHA256 [32]byte
}

// Signed reports whether the manifest was signed (and its signature
// verified when it was read).
func (m Manifest) Signed() bool { return !m.Signer.IsZero() }

// Link names a signed manifest by its sequence and payload digest.
type Link struct {
	Sequence uint64
	SHA256   [32]byte
}

// link returns the link that names m.
func (m Manifest) link() Link { return Link{Sequence: m.Sequence, SHA256: m.PayloadSHA256} }

type wireDigest struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// wireManifest is the JSON form of an unsigned [Manifest] (versions 1 and
// 2), and the first fields of a signed one's payload; doc.go documents it.
type wireManifest struct {
	Format             string     `json:"format"`
	Version            int        `json:"version"`
	GroupID            string     `json:"group_id"`
	Epoch              uint64     `json:"epoch"`
	Created            time.Time  `json:"created"`
	ID                 string     `json:"id"`
	AgentID            string     `json:"agent_id"`
	SnapshotFormat     string     `json:"snapshot_format"`
	EpochAuthenticator string     `json:"epoch_authenticator,omitempty"`
	Encryption         string     `json:"encryption"`
	Object             string     `json:"object,omitempty"`
	Plaintext          wireDigest `json:"plaintext"`
	Ciphertext         wireDigest `json:"ciphertext"`
	// Inline is the age file of an inline snapshot (version 2), base64.
	Inline []byte `json:"inline,omitempty"`
}

// wirePayload is the signed statement of a version 3 manifest: the
// fields of version 1 plus where the object is and its place in the
// prefix's chain.
type wirePayload struct {
	wireManifest
	Prefix   string    `json:"prefix"`
	Key      string    `json:"key"`
	Sequence uint64    `json:"sequence"`
	Prev     *wireLink `json:"prev"`
	Head     uint64    `json:"head"`
}

type wireLink struct {
	Sequence uint64 `json:"sequence"`
	SHA256   string `json:"sha256"`
}

// encodeManifest returns the manifest's JSON, indented, newline-terminated.
// An inline snapshot's manifest (m.Inline()) carries the age file ct.
func encodeManifest(m Manifest, ct []byte) ([]byte, error) {
	w := m.wire()
	if m.Inline() {
		w.Inline = ct
	}
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// decodeManifest parses an unsigned manifest (version 1 or 2) and checks
// it against the ref derived from its key. For an inline snapshot's
// manifest it also returns the age file inside.
func decodeManifest(data []byte, ref Ref) (Manifest, []byte, error) {
	w, err := decodeObject(data)
	if err != nil {
		return Manifest{}, nil, err
	}
	m, err := w.unsigned(ref)
	if err != nil {
		return Manifest{}, nil, err
	}
	return m, w.Inline, nil
}

// unsigned checks w, an unsigned manifest read from ref's key, and
// converts it. Errors are [*CheckError]s.
func (w *wireObject) unsigned(ref Ref) (Manifest, error) {
	if w.Format != ManifestFormat {
		return Manifest{}, checkErr(CheckEnvelope, ErrBadManifest, "format %q, want %q", w.Format, EnvelopeFormat)
	}
	switch {
	case w.Version != ManifestVersion && w.Version != ManifestVersionInline:
		return Manifest{}, checkErr(CheckEnvelope, ErrBadManifest, "unsupported version %d (this build reads %d, and %d and %d unsigned)",
			w.Version, EnvelopeVersion, ManifestVersion, ManifestVersionInline)
	case ref.Inline() && (w.Version != ManifestVersionInline || w.Object != "" || w.Inline == nil):
		return Manifest{}, checkErr(CheckLocation, ErrBadManifest, "%s must be a version %d manifest with the snapshot inline",
			inlineName, ManifestVersionInline)
	case !ref.Inline() && (w.Version != ManifestVersion || w.Object != dataName || w.Inline != nil):
		return Manifest{}, checkErr(CheckLocation, ErrBadManifest, "%s must be a version %d manifest of object %q, got version %d object %q",
			manifestName, ManifestVersion, dataName, w.Version, w.Object)
	}
	return w.wireManifest.manifest(ref)
}

// manifest checks the fields of w, read from ref's key, and converts them.
func (w *wireManifest) manifest(ref Ref) (Manifest, error) {
	if w.Encryption != Encryption {
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "unsupported encryption %q", w.Encryption)
	}
	m := Manifest{
		Ref:            ref,
		AgentID:        w.AgentID,
		SnapshotFormat: w.SnapshotFormat,
		PlaintextSize:  w.Plaintext.Size,
		CiphertextSize: w.Ciphertext.Size,
	}
	group, err := hex.DecodeString(w.GroupID)
	if err != nil {
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "group_id: %v", err)
	}
	if m.EpochAuthenticator, err = hex.DecodeString(w.EpochAuthenticator); err != nil {
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "epoch_authenticator: %v", err)
	}
	if len(m.EpochAuthenticator) == 0 {
		m.EpochAuthenticator = nil
	}
	if err := decodeDigest(w.Plaintext.SHA256, &m.PlaintextSHA256); err != nil {
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "plaintext sha256: %v", err)
	}
	if err := decodeDigest(w.Ciphertext.SHA256, &m.CiphertextSHA256); err != nil {
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "ciphertext sha256: %v", err)
	}
	if m.PlaintextSize < 0 || m.CiphertextSize < 0 {
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "negative size")
	}
	// The key is what List sorts and selects by; the manifest must agree.
	switch {
	case !bytes.Equal(group, ref.GroupID):
		return Manifest{}, checkErr(CheckLocation, ErrCorrupt, "manifest names group %s but its key group %s", w.GroupID, ref.GroupHex())
	case w.Epoch != ref.Epoch:
		return Manifest{}, checkErr(CheckLocation, ErrCorrupt, "manifest names epoch %d but its key epoch %d", w.Epoch, ref.Epoch)
	case !w.Created.Equal(ref.Created) || w.ID != ref.ID:
		return Manifest{}, checkErr(CheckLocation, ErrCorrupt, "manifest names snapshot %s but its key %s", w.ID, ref.ID)
	}
	return m, nil
}

func decodeDigest(s string, out *[32]byte) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	if len(b) != len(out) {
		return errors.New("not 32 bytes")
	}
	copy(out[:], b)
	return nil
}
