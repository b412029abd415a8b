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
	// Encryption names the encryption of the snapshot object.
	Encryption = "age-v1"
	// MaxInline is the largest encrypted snapshot that may be stored
	// inline (the bound of [Options].InlineMax).
	MaxInline = 64 << 10
	// maxManifestSize bounds what is read of a manifest object: an inline
	// snapshot of MaxInline bytes in base64, plus the manifest's fields.
	maxManifestSize = 128 << 10
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
}

type wireDigest struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// wireManifest is the JSON form of a [Manifest]; doc.go documents it.
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

// decodeManifest parses a manifest and checks it against the ref derived
// from its key: a manifest that names another group, epoch or time than
// its key is refused. For an inline snapshot's manifest it also returns
// the age file inside.
func decodeManifest(data []byte, ref Ref) (Manifest, []byte, error) {
	var w wireManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		return Manifest{}, nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	m, err := w.manifest(ref)
	if err != nil {
		return Manifest{}, nil, err
	}
	return m, w.Inline, nil
}

// manifest checks w, read from ref's key, and converts it.
func (w *wireManifest) manifest(ref Ref) (Manifest, error) {
	if w.Format != ManifestFormat {
		return Manifest{}, fmt.Errorf("%w: format %q, want %q", ErrBadManifest, w.Format, ManifestFormat)
	}
	switch {
	case w.Version != ManifestVersion && w.Version != ManifestVersionInline:
		return Manifest{}, fmt.Errorf("%w: unsupported version %d (this build reads %d and %d)",
			ErrBadManifest, w.Version, ManifestVersion, ManifestVersionInline)
	case w.Encryption != Encryption:
		return Manifest{}, fmt.Errorf("%w: unsupported encryption %q", ErrBadManifest, w.Encryption)
	case ref.Inline() && (w.Version != ManifestVersionInline || w.Object != "" || w.Inline == nil):
		return Manifest{}, fmt.Errorf("%w: %s must be a version %d manifest with the snapshot inline",
			ErrBadManifest, inlineName, ManifestVersionInline)
	case !ref.Inline() && (w.Version != ManifestVersion || w.Object != dataName || w.Inline != nil):
		return Manifest{}, fmt.Errorf("%w: %s must be a version %d manifest of object %q, got version %d object %q",
			ErrBadManifest, manifestName, ManifestVersion, dataName, w.Version, w.Object)
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
		return Manifest{}, fmt.Errorf("%w: group_id: %v", ErrBadManifest, err)
	}
	if m.EpochAuthenticator, err = hex.DecodeString(w.EpochAuthenticator); err != nil {
		return Manifest{}, fmt.Errorf("%w: epoch_authenticator: %v", ErrBadManifest, err)
	}
	if len(m.EpochAuthenticator) == 0 {
		m.EpochAuthenticator = nil
	}
	if err := decodeDigest(w.Plaintext.SHA256, &m.PlaintextSHA256); err != nil {
		return Manifest{}, fmt.Errorf("%w: plaintext sha256: %v", ErrBadManifest, err)
	}
	if err := decodeDigest(w.Ciphertext.SHA256, &m.CiphertextSHA256); err != nil {
		return Manifest{}, fmt.Errorf("%w: ciphertext sha256: %v", ErrBadManifest, err)
	}
	if m.PlaintextSize < 0 || m.CiphertextSize < 0 {
		return Manifest{}, fmt.Errorf("%w: negative size", ErrBadManifest)
	}
	// The key is what List sorts and selects by; the manifest must agree.
	switch {
	case !bytes.Equal(group, ref.GroupID):
		return Manifest{}, fmt.Errorf("%w: manifest names group %s but its key group %s", ErrCorrupt, w.GroupID, ref.GroupHex())
	case w.Epoch != ref.Epoch:
		return Manifest{}, fmt.Errorf("%w: manifest names epoch %d but its key epoch %d", ErrCorrupt, w.Epoch, ref.Epoch)
	case !w.Created.Equal(ref.Created) || w.ID != ref.ID:
		return Manifest{}, fmt.Errorf("%w: manifest names snapshot %s but its key %s", ErrCorrupt, w.ID, ref.ID)
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
