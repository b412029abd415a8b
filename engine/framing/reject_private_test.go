package framing

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// private returns a valid private message of content type ct from leaf 1 at
// generation 2.
func (f *fixture) private(t *testing.T, ct wire.ContentType) *wire.PrivateMessage {
	t.Helper()
	ac, err := Sign(f.s, f.sigPriv, wire.WireFormatPrivateMessage, f.content(ct, member1), f.gc)
	if err != nil {
		t.Fatal(err)
	}
	if ct == wire.ContentTypeCommit {
		ac.Auth.ConfirmationTag = []byte("tag")
	}
	key, nonce, err := f.keys(1, ct, 2)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := ProtectPrivate(f.s, f.senderDataSecret, ac, RatchetSecret{Key: key, Nonce: nonce, Generation: 2}, 16, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// sealRaw builds a private message from leaf 1, generation 0, whose
// decrypted content is exactly plaintext.
func (f *fixture) sealRaw(t testing.TB, ct wire.ContentType, plaintext []byte) *wire.PrivateMessage {
	t.Helper()
	key, nonce, err := f.keys(1, ct, 0)
	if err != nil {
		t.Fatal(err)
	}
	sd := wire.SenderData{LeafIndex: 1, ReuseGuard: [4]byte{9, 8, 7, 6}}
	pm := &wire.PrivateMessage{GroupID: f.gc.GroupID, Epoch: f.gc.Epoch, ContentType: ct, AuthenticatedData: []byte{}}
	if pm.Ciphertext, err = f.s.Seal(key, appendGuardedNonce(nil, nonce, sd.ReuseGuard), appendContentAAD(nil, pm), plaintext); err != nil {
		t.Fatal(err)
	}
	if err := sealSenderData(f.s, f.senderDataSecret, pm, appendSenderDataAAD(nil, pm), codec.Marshal(sd)); err != nil {
		t.Fatal(err)
	}
	return pm
}

var errNoKey = errors.New("no such key")

func TestUnprotectPrivateRejects(t *testing.T) {
	f := newFixture(t)
	appContent := codec.Marshal(wire.PrivateMessageContent{ContentType: wire.ContentTypeApplication,
		ApplicationData: []byte("x"), Auth: wire.FramedContentAuthData{Signature: []byte("s")}})
	commitNoTag := codec.Marshal(wire.PrivateMessageContent{ContentType: wire.ContentTypeCommit,
		Commit: &wire.Commit{}, Auth: wire.FramedContentAuthData{Signature: []byte("s")}})
	for _, tc := range []struct {
		name  string
		build func(t *testing.T) *wire.PrivateMessage
		keys  KeyFunc
		want  error
	}{
		{"valid", func(t *testing.T) *wire.PrivateMessage { return f.private(t, wire.ContentTypeApplication) }, nil, nil},
		{"valid commit", func(t *testing.T) *wire.PrivateMessage { return f.private(t, wire.ContentTypeCommit) }, nil, nil},
		{"wrong group", func(t *testing.T) *wire.PrivateMessage {
			pm := f.private(t, wire.ContentTypeApplication)
			pm.GroupID = []byte("other")
			return pm
		}, nil, ErrWrongGroup},
		{"wrong epoch", func(t *testing.T) *wire.PrivateMessage {
			pm := f.private(t, wire.ContentTypeApplication)
			pm.Epoch++
			return pm
		}, nil, ErrWrongEpoch},
		{"flipped ciphertext", func(t *testing.T) *wire.PrivateMessage {
			pm := f.private(t, wire.ContentTypeApplication)
			pm.Ciphertext[len(pm.Ciphertext)-1] ^= 1
			return pm
		}, nil, ErrDecrypt},
		{"flipped sender data", func(t *testing.T) *wire.PrivateMessage {
			pm := f.private(t, wire.ContentTypeApplication)
			pm.EncryptedSenderData[0] ^= 1
			return pm
		}, nil, ErrDecrypt},
		{"changed authenticated data", func(t *testing.T) *wire.PrivateMessage {
			pm := f.private(t, wire.ContentTypeApplication)
			pm.AuthenticatedData = []byte("other")
			return pm
		}, nil, ErrDecrypt},
		{"changed content type", func(t *testing.T) *wire.PrivateMessage {
			pm := f.private(t, wire.ContentTypeApplication)
			pm.ContentType = wire.ContentTypeProposal
			return pm
		}, nil, ErrDecrypt},
		{"truncated ciphertext", func(t *testing.T) *wire.PrivateMessage {
			pm := f.private(t, wire.ContentTypeApplication)
			pm.Ciphertext = pm.Ciphertext[:3]
			return pm
		}, nil, ErrDecrypt},
		{"wrong generation key", func(t *testing.T) *wire.PrivateMessage { return f.private(t, wire.ContentTypeApplication) },
			func(leaf uint32, ct wire.ContentType, _ uint32) ([]byte, []byte, error) { return f.keys(leaf, ct, 1) }, ErrDecrypt},
		{"key unavailable", func(t *testing.T) *wire.PrivateMessage { return f.private(t, wire.ContentTypeApplication) },
			func(uint32, wire.ContentType, uint32) ([]byte, []byte, error) { return nil, nil, errNoKey }, errNoKey},
		{"generation too far ahead", func(t *testing.T) *wire.PrivateMessage {
			ac, err := Sign(f.s, f.sigPriv, wire.WireFormatPrivateMessage, f.content(wire.ContentTypeApplication, member1), f.gc)
			if err != nil {
				t.Fatal(err)
			}
			secret := RatchetSecret{Key: make([]byte, f.s.KeySize()), Nonce: make([]byte, f.s.NonceSize()), Generation: 1 << 20}
			pm, err := ProtectPrivate(f.s, f.senderDataSecret, ac, secret, 0, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return pm
		}, nil, secrettree.ErrTooFarAhead},
		{"zero padding", func(t *testing.T) *wire.PrivateMessage {
			return f.sealRaw(t, wire.ContentTypeApplication, append(appContent, 0, 0, 0))
		}, nil, nil},
		{"non-zero padding", func(t *testing.T) *wire.PrivateMessage {
			return f.sealRaw(t, wire.ContentTypeApplication, append(appContent, 0, 1, 0))
		}, nil, ErrMalformed},
		{"garbage content", func(t *testing.T) *wire.PrivateMessage {
			return f.sealRaw(t, wire.ContentTypeProposal, []byte{0, 99, 1})
		}, nil, ErrMalformed},
		{"commit without confirmation tag", func(t *testing.T) *wire.PrivateMessage {
			return f.sealRaw(t, wire.ContentTypeCommit, commitNoTag)
		}, nil, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pm := reparse(t, tc.build(t))
			keys := tc.keys
			if keys == nil {
				keys = f.keys
			}
			ac, _, err := UnprotectPrivate(f.s, f.senderDataSecret, pm, f.gc, keys)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				if ac.Content.Sender != member1 {
					t.Fatalf("sender %+v, want %+v", ac.Content.Sender, member1)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
