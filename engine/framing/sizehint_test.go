package framing

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestSizeHints checks that the size hints of the application-message path
// bound the encodings they size, so those encode in one allocation.
func TestSizeHints(t *testing.T) {
	for _, n := range []int{0, 1, 100, 5000} {
		gc := &wire.GroupContext{Version: wire.ProtocolVersionMLS10, CipherSuite: 1, GroupID: []byte("g1"), Epoch: 3,
			TreeHash: make([]byte, 32), ConfirmedTranscriptHash: make([]byte, 32),
			Extensions: wire.Extensions{{ExtensionType: 2, ExtensionData: bytes.Repeat([]byte{5}, n%70)}}}
		c := &wire.FramedContent{GroupID: gc.GroupID, Epoch: 3, Sender: wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 1},
			AuthenticatedData: make([]byte, n/3), ContentType: wire.ContentTypeApplication, ApplicationData: make([]byte, n)}
		b, err := tbs(wire.WireFormatPrivateMessage, c, gc)
		if err != nil {
			t.Fatal(err)
		}
		if got, hint := len(b), tbsSizeHint(c, gc); got > hint {
			t.Errorf("%d bytes of data: TBS of %d bytes > hint %d", n, got, hint)
		}
		pc := wire.PrivateMessageContent{ContentType: wire.ContentTypeApplication, ApplicationData: c.ApplicationData,
			Auth: wire.FramedContentAuthData{Signature: make([]byte, 64)}, PaddingLen: 31}
		if got, hint := len(codec.Marshal(pc)), contentSizeHint(&pc, 32); got > hint {
			t.Errorf("%d bytes of data: padded content of %d bytes > hint %d", n, got, hint)
		}
		pm := &wire.PrivateMessage{GroupID: gc.GroupID, Epoch: 3, ContentType: wire.ContentTypeApplication, AuthenticatedData: c.AuthenticatedData}
		if got, want := len(appendContentAAD(nil, pm)), contentAADLen(pm); got != want {
			t.Errorf("content AAD of %d bytes, want %d", got, want)
		}
		if got, want := len(appendSenderDataAAD(nil, pm)), senderDataAADLen(pm); got != want {
			t.Errorf("sender data AAD of %d bytes, want %d", got, want)
		}
	}
}

// TestPrivateRoundTripSizes protects and opens application messages whose
// group id, authenticated data and data are short or long, so both the
// scratch array of UnprotectPrivate and its fallback buffer are used, with
// and without padding.
func TestPrivateRoundTripSizes(t *testing.T) {
	for _, tc := range []struct{ gid, ad, data, pad int }{
		{5, 0, 0, 0}, {16, 2, 100, 32}, {32, 0, 100, 1}, {40, 60, 10, 7}, {255, 300, 5000, 64},
	} {
		f := newFixture(t)
		f.gc.GroupID = bytes.Repeat([]byte{'g'}, tc.gid)
		tr := vectorTree(t, f.s, bytes.Repeat([]byte{3}, f.s.Nh()))
		fc := &wire.FramedContent{GroupID: f.gc.GroupID, Epoch: f.gc.Epoch, Sender: wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 1},
			AuthenticatedData: bytes.Repeat([]byte{'a'}, tc.ad), ContentType: wire.ContentTypeApplication, ApplicationData: bytes.Repeat([]byte{'d'}, tc.data)}
		ac, err := Sign(f.s, f.sigPriv, wire.WireFormatPrivateMessage, fc, f.gc)
		if err != nil {
			t.Fatal(err)
		}
		secret, err := NextSecret(tr.Clone(), 1, wire.ContentTypeApplication)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := ProtectPrivate(f.s, f.senderDataSecret, ac, secret, tc.pad, bytes.NewReader([]byte{1, 2, 3, 4}))
		if err != nil {
			t.Fatalf("%+v: protect: %v", tc, err)
		}
		if tc.pad > 1 && (len(pm.Ciphertext)-16)%tc.pad != 0 {
			t.Errorf("%+v: plaintext of %d bytes not padded to %d", tc, len(pm.Ciphertext)-16, tc.pad)
		}
		got, sd, err := UnprotectPrivate(f.s, f.senderDataSecret, pm, f.gc, TreeKeys(tr))
		if err != nil {
			t.Fatalf("%+v: unprotect: %v", tc, err)
		}
		if sd.LeafIndex != 1 || sd.Generation != 0 || sd.ReuseGuard != [4]byte{1, 2, 3, 4} {
			t.Errorf("%+v: sender data %+v", tc, sd)
		}
		if !bytes.Equal(got.Content.ApplicationData, fc.ApplicationData) || !bytes.Equal(got.Content.AuthenticatedData, fc.AuthenticatedData) {
			t.Errorf("%+v: content differs after the round trip", tc)
		}
		if err := VerifySignature(f.s, f.sigPub, got, f.gc); err != nil {
			t.Errorf("%+v: verify: %v", tc, err)
		}
	}
}
