package wire

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

func TestPrivateMessageEncodedLen(t *testing.T) {
	for _, n := range []int{0, 10, 63, 64, 200, 20000} {
		pm := PrivateMessage{GroupID: []byte("group"), Epoch: 9, ContentType: ContentTypeApplication,
			AuthenticatedData: bytes.Repeat([]byte{1}, n/2), EncryptedSenderData: make([]byte, 28), Ciphertext: make([]byte, n)}
		if got, want := pm.EncodedLen(), len(codec.Marshal(pm)); got != want {
			t.Errorf("ciphertext of %d bytes: EncodedLen = %d, want %d", n, got, want)
		}
	}
}

// TestExtensionsEncoding checks the length-first encoding of Extensions
// against the generic vector writer.
func TestExtensionsEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 3, 40} {
		var es Extensions
		for i := range n {
			es = append(es, Extension{ExtensionType: ExtensionType(i), ExtensionData: bytes.Repeat([]byte{byte(i)}, i*3)})
		}
		var want codec.Writer
		writeList(&want, es)
		if got := codec.Marshal(es); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%d extensions: %x, want %x", n, got, want.Bytes())
		}
	}
}

// TestGroupContextEncodedLen checks EncodedLen against the encoding, with
// extension vectors whose length takes one, two and four bytes.
func TestGroupContextEncodedLen(t *testing.T) {
	for _, n := range []int{0, 1, 3, 10, 300, 6000} {
		gc := GroupContext{Version: ProtocolVersionMLS10, CipherSuite: 1, GroupID: bytes.Repeat([]byte{1}, n%70),
			Epoch: 7, TreeHash: make([]byte, 32), ConfirmedTranscriptHash: make([]byte, 32)}
		for i := range n {
			gc.Extensions = append(gc.Extensions, Extension{ExtensionType: ExtensionType(i), ExtensionData: bytes.Repeat([]byte{2}, i%100)})
		}
		if got, want := gc.EncodedLen(), len(codec.Marshal(gc)); got != want {
			t.Errorf("%d extensions: EncodedLen = %d, want %d", n, got, want)
		}
	}
}
