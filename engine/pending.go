package engine

import (
	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// pendingCommit is a commit this member created and has not merged yet
// (keys/pending_commit). It holds what merging needs after a restart, and
// no more: the commit with the path's ciphertexts stripped (they are only
// for the other members), the confirmed transcript hash and confirmation
// tag computed from the full commit, a digest of the sent content to
// recognise it when it comes back, the path's commit secret and the private
// keys the path gave this member.
type pendingCommit struct {
	// Commit is the encoded wire.Commit without path ciphertexts.
	Commit []byte
	// Digest is the suite hash of the encoded wire.AuthenticatedContent.
	Digest []byte
	// Confirmed is the new confirmed transcript hash.
	Confirmed []byte
	// Tag is the commit's confirmation tag.
	Tag []byte
	// CommitSecret is the path's commit secret (empty without a path).
	CommitSecret []byte
	// Keys is the encoded tree.PrivateKeys after the path (empty without a
	// path).
	Keys []byte
}

func (p pendingCommit) MarshalTLS(w *codec.Writer) {
	w.Uint8(recordVersion1)
	w.Opaque(p.Commit)
	w.Opaque(p.Digest)
	w.Opaque(p.Confirmed)
	w.Opaque(p.Tag)
	w.Opaque(p.CommitSecret)
	w.Opaque(p.Keys)
}

func (p *pendingCommit) UnmarshalTLS(r *codec.Reader) {
	if v := r.Uint8(); r.Err() == nil && v != recordVersion1 {
		r.Fail(codec.ErrInvalid)
		return
	}
	p.Commit = r.Opaque()
	p.Digest = r.Opaque()
	p.Confirmed = r.Opaque()
	p.Tag = r.Opaque()
	p.CommitSecret = r.Opaque()
	p.Keys = r.Opaque()
}

// strippedCommit returns c's encoding with the path's ciphertexts removed.
func strippedCommit(c *wire.Commit) []byte {
	sc := *c
	if c.Path != nil {
		p := *c.Path
		p.Nodes = make([]wire.UpdatePathNode, len(c.Path.Nodes))
		for i, n := range c.Path.Nodes {
			p.Nodes[i] = wire.UpdatePathNode{EncryptionKey: n.EncryptionKey, EncryptedPathSecret: []wire.HPKECiphertext{}}
		}
		sc.Path = &p
	}
	return codec.Marshal(sc)
}
