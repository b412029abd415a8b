package engine

import "github.com/mlsbackup/mlsbackup/engine/codec"

// pendingCommit is a commit this member created and has not merged yet.
// It holds what is needed to merge it after a restart: the signed commit
// (with confirmation tag), the commit secret of its path, and the private
// keys the path gave this member.
type pendingCommit struct {
	// Content is the encoded wire.AuthenticatedContent of the commit.
	Content []byte
	// CommitSecret is the path's commit secret (empty without a path).
	CommitSecret []byte
	// Keys is the encoded tree.PrivateKeys after the path (empty without a
	// path).
	Keys []byte
	// InitSecret is the external init secret of an external commit.
	InitSecret []byte
}

func (p pendingCommit) MarshalTLS(w *codec.Writer) {
	w.Uint8(1)
	w.Opaque(p.Content)
	w.Opaque(p.CommitSecret)
	w.Opaque(p.Keys)
	w.Opaque(p.InitSecret)
}

func (p *pendingCommit) UnmarshalTLS(r *codec.Reader) {
	if v := r.Uint8(); r.Err() == nil && v != 1 {
		r.Fail(codec.ErrInvalid)
		return
	}
	p.Content = r.Opaque()
	p.CommitSecret = r.Opaque()
	p.Keys = r.Opaque()
	p.InitSecret = r.Opaque()
}
