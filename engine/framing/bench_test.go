package framing

import (
	"crypto/rand"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// BenchmarkFraming measures protecting and unprotecting a 100-byte
// application message (private) and a proposal (public), bytes to bytes,
// with suite 1. Signing and verification are included.
func BenchmarkFraming(b *testing.B) {
	f := newFixture(b)
	key, nonce, err := f.keys(1, wire.ContentTypeApplication, 0)
	if err != nil {
		b.Fatal(err)
	}
	secret := RatchetSecret{Key: key, Nonce: nonce}
	app := f.content(wire.ContentTypeApplication, member1)
	app.ApplicationData = make([]byte, 100)
	protect := func(b *testing.B) []byte {
		ac, err := Sign(f.s, f.sigPriv, wire.WireFormatPrivateMessage, app, f.gc)
		if err != nil {
			b.Fatal(err)
		}
		pm, err := ProtectPrivate(f.s, f.senderDataSecret, ac, secret, 32, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		return codec.Marshal(wire.MLSMessage{Version: 1, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: pm})
	}
	unprotect := func(b *testing.B, msg []byte) {
		var m wire.MLSMessage
		if err := codec.Unmarshal(msg, &m); err != nil {
			b.Fatal(err)
		}
		ac, _, err := UnprotectPrivate(f.s, f.senderDataSecret, m.PrivateMessage, f.gc, f.keys)
		if err != nil {
			b.Fatal(err)
		}
		if err := VerifySignature(f.s, f.sigPub, ac, f.gc); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("private/protect", func(b *testing.B) {
		for b.Loop() {
			protect(b)
		}
	})
	msg := protect(b)
	b.Run("private/unprotect", func(b *testing.B) {
		for b.Loop() {
			unprotect(b, msg)
		}
	})
	b.Run("public/protect+unprotect", func(b *testing.B) {
		for b.Loop() {
			pm := f.public(b, wire.ContentTypeProposal, member1)
			var back wire.PublicMessage
			if err := codec.Unmarshal(codec.Marshal(pm), &back); err != nil {
				b.Fatal(err)
			}
			ac, err := UnprotectPublic(f.s, f.membershipKey, &back, f.gc)
			if err != nil {
				b.Fatal(err)
			}
			if err := VerifySignature(f.s, f.sigPub, ac, f.gc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
