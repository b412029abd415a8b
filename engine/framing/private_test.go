package framing

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// twoLeafKeys derives ratchet keys of the two-member secret tree the
// message-protection vectors use (RFC 9420 §9): the root is the encryption
// secret, leaf 0 its left child and leaf 1 its right child.
func twoLeafKeys(s *suite.Suite, encryptionSecret []byte) KeyFunc {
	return func(leaf uint32, ct wire.ContentType, generation uint32) ([]byte, []byte, error) {
		if leaf > 1 || generation > 1000 {
			return nil, nil, fmt.Errorf("no key for leaf %d generation %d", leaf, generation)
		}
		side := []string{"left", "right"}[leaf]
		leafSecret := s.ExpandWithLabel(encryptionSecret, "tree", []byte(side), s.Nh())
		label := "handshake"
		if ct == wire.ContentTypeApplication {
			label = "application"
		}
		secret := s.ExpandWithLabel(leafSecret, label, nil, s.Nh())
		for g := uint32(0); g < generation; g++ {
			secret = s.DeriveTreeSecret(secret, "secret", g, s.Nh())
		}
		return s.DeriveTreeSecret(secret, "key", generation, s.KeySize()),
			s.DeriveTreeSecret(secret, "nonce", generation, s.NonceSize()), nil
	}
}

// checkPrivate runs the PrivateMessage checks of one item: the vector's
// message decrypts and verifies, and our own protection round-trips.
func checkPrivate(t *testing.T, s *suite.Suite, v *protectionVector, it protectionItem) {
	t.Helper()
	gc := v.groupContext()
	keys := twoLeafKeys(s, v.EncryptionSecret)
	m := decodeMessage(t, it.priv, wire.WireFormatPrivateMessage)
	ac, sd, err := UnprotectPrivate(s, v.SenderDataSecret, m.PrivateMessage, gc, keys)
	if err != nil {
		t.Fatalf("%s: unprotect vector private message: %v", it.name, err)
	}
	if sd.LeafIndex != 1 {
		t.Fatalf("%s: sender leaf %d, want 1", it.name, sd.LeafIndex)
	}
	if err := VerifySignature(s, v.SignaturePub, ac, gc); err != nil {
		t.Fatalf("%s: verify vector private message: %v", it.name, err)
	}
	if got := rawContent(&ac.Content); !bytes.Equal(got, it.raw) {
		t.Fatalf("%s: private content %x, want %x", it.name, got, it.raw)
	}

	fc := framedContent(t, v, it)
	mine, err := Sign(s, v.SignaturePriv, wire.WireFormatPrivateMessage, fc, gc)
	if err != nil {
		t.Fatalf("%s: sign: %v", it.name, err)
	}
	mine.Auth.ConfirmationTag = ac.Auth.ConfirmationTag
	const generation = 3
	key, nonce, err := keys(1, it.ct, generation)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := ProtectPrivate(s, v.SenderDataSecret, mine, RatchetSecret{Key: key, Nonce: nonce, Generation: generation}, 64, rand.Reader)
	if err != nil {
		t.Fatalf("%s: protect private: %v", it.name, err)
	}
	enc := codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: pm})
	back := decodeMessage(t, enc, wire.WireFormatPrivateMessage)
	got, gotSD, err := UnprotectPrivate(s, v.SenderDataSecret, back.PrivateMessage, gc, keys)
	if err != nil {
		t.Fatalf("%s: unprotect own private message: %v", it.name, err)
	}
	if gotSD.LeafIndex != 1 || gotSD.Generation != generation {
		t.Fatalf("%s: sender data %+v, want leaf 1 generation %d", it.name, gotSD, generation)
	}
	if err := VerifySignature(s, v.SignaturePub, got, gc); err != nil {
		t.Fatalf("%s: verify own private message: %v", it.name, err)
	}
	if !bytes.Equal(rawContent(&got.Content), it.raw) {
		t.Fatalf("%s: own private message content differs", it.name)
	}
	if (len(pm.Ciphertext)-16)%64 != 0 {
		t.Fatalf("%s: padded plaintext of %d bytes is not a multiple of 64", it.name, len(pm.Ciphertext)-16)
	}
}
