package framing

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// vectorTree returns the two-member secret tree the message-protection
// vectors use.
func vectorTree(t testing.TB, s *suite.Suite, encryptionSecret []byte) *secrettree.Tree {
	t.Helper()
	tree, err := secrettree.New(s, encryptionSecret, 2, secrettree.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// checkPrivate runs the PrivateMessage checks of one item: the vector's
// message decrypts and verifies, and our own protection round-trips.
func checkPrivate(t *testing.T, s *suite.Suite, v *protectionVector, it protectionItem) {
	t.Helper()
	gc := v.groupContext()
	receiver := vectorTree(t, s, v.EncryptionSecret)
	m := decodeMessage(t, it.priv, wire.WireFormatPrivateMessage)
	ac, sd, err := UnprotectPrivate(s, v.SenderDataSecret, m.PrivateMessage, gc, TreeKeys(receiver))
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
	// The sender skips three generations; the receiver must still find the key.
	sender := vectorTree(t, s, v.EncryptionSecret)
	const generation = 3
	if err := sender.AdvanceTo(1, RatchetType(it.ct), generation); err != nil {
		t.Fatal(err)
	}
	secret, err := NextSecret(sender, 1, it.ct)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := ProtectPrivate(s, v.SenderDataSecret, mine, secret, 64, rand.Reader)
	if err != nil {
		t.Fatalf("%s: protect private: %v", it.name, err)
	}
	enc := codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: pm})
	back := decodeMessage(t, enc, wire.WireFormatPrivateMessage)
	got, gotSD, err := UnprotectPrivate(s, v.SenderDataSecret, back.PrivateMessage, gc, TreeKeys(receiver))
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
	if err := receiver.Consume(gotSD.LeafIndex, RatchetType(it.ct), gotSD.Generation); err != nil {
		t.Fatalf("%s: consume key: %v", it.name, err)
	}
	if _, _, err := UnprotectPrivate(s, v.SenderDataSecret, back.PrivateMessage, gc, TreeKeys(receiver)); !errors.Is(err, secrettree.ErrStale) {
		t.Fatalf("%s: replay after consuming the key: got %v, want secrettree.ErrStale", it.name, err)
	}
	if (len(pm.Ciphertext)-16)%64 != 0 {
		t.Fatalf("%s: padded plaintext of %d bytes is not a multiple of 64", it.name, len(pm.Ciphertext)-16)
	}
}
