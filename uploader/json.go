package uploader

import (
	"encoding/hex"
	"encoding/json"
	"time"
)

// refJSON is the JSON form of a [Ref] for command output.
type refJSON struct {
	GroupID string    `json:"group_id"`
	Epoch   uint64    `json:"epoch"`
	Created time.Time `json:"created"`
	ID      string    `json:"id"`
	Key     string    `json:"key"`
	DataKey string    `json:"data_key"`
}

// MarshalJSON encodes the ref with the group id in hex and both keys, for
// `list --json` and `prune --json` output.
func (r Ref) MarshalJSON() ([]byte, error) {
	return json.Marshal(refJSON{
		GroupID: r.GroupHex(), Epoch: r.Epoch, Created: r.Created.UTC(), ID: r.ID,
		Key: r.Key, DataKey: r.DataKey,
	})
}

// MarshalJSON encodes the manifest's fields as stored (see doc.go; for a
// signed manifest, its payload's fields and its signer) plus its "key"
// and "data_key".
func (m Manifest) MarshalJSON() ([]byte, error) {
	type signed struct {
		Signer   string    `json:"signer"`
		Sequence uint64    `json:"sequence"`
		Prev     *wireLink `json:"prev"`
		Head     uint64    `json:"head"`
	}
	v := struct {
		wireManifest
		*signed
		Key     string `json:"key"`
		DataKey string `json:"data_key"`
	}{wireManifest: m.wire(), Key: m.Key, DataKey: m.DataKey}
	if m.Signed() {
		p := m.payload(layout{})
		v.wireManifest = p.wireManifest
		v.signed = &signed{Signer: m.Signer.String(), Sequence: m.Sequence, Prev: p.Prev, Head: m.Head}
	}
	return json.Marshal(v)
}

// wire returns the stored JSON form of m, without an inline snapshot's
// data.
func (m Manifest) wire() wireManifest {
	w := wireManifest{
		Format:             ManifestFormat,
		Version:            ManifestVersion,
		GroupID:            hex.EncodeToString(m.GroupID),
		Epoch:              m.Epoch,
		Created:            m.Created.UTC(),
		ID:                 m.ID,
		AgentID:            m.AgentID,
		SnapshotFormat:     m.SnapshotFormat,
		EpochAuthenticator: hex.EncodeToString(m.EpochAuthenticator),
		Encryption:         Encryption,
		Object:             dataName,
		Plaintext:          wireDigest{Size: m.PlaintextSize, SHA256: hex.EncodeToString(m.PlaintextSHA256[:])},
		Ciphertext:         wireDigest{Size: m.CiphertextSize, SHA256: hex.EncodeToString(m.CiphertextSHA256[:])},
	}
	if m.Inline() {
		w.Version, w.Object = ManifestVersionInline, ""
	}
	return w
}
