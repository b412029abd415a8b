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
