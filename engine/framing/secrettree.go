package framing

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// RatchetType returns the secret-tree ratchet that protects content of type
// ct: the application ratchet for application data, the handshake ratchet
// for proposals and commits (RFC 9420 §9).
func RatchetType(ct wire.ContentType) secrettree.ContentType {
	if ct == wire.ContentTypeApplication {
		return secrettree.Application
	}
	return secrettree.Handshake
}

// TreeKeys returns a [KeyFunc] that peeks keys in t without consuming them.
// After the message has been authenticated the caller consumes the key with
// t.Consume(leaf, RatchetType(ct), generation).
func TreeKeys(t *secrettree.Tree) KeyFunc {
	return func(leaf uint32, ct wire.ContentType, generation uint32) ([]byte, []byte, error) {
		return t.Peek(leaf, RatchetType(ct), generation)
	}
}

// NextSecret advances leaf's ratchet for ct in t and returns the secret for
// the sender's next message, for [ProtectPrivate].
func NextSecret(t *secrettree.Tree, leaf uint32, ct wire.ContentType) (RatchetSecret, error) {
	gen, key, nonce, err := t.Next(leaf, RatchetType(ct))
	if err != nil {
		return RatchetSecret{}, fmt.Errorf("next ratchet secret: %w", err)
	}
	return RatchetSecret{Key: key, Nonce: nonce, Generation: gen}, nil
}
