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
