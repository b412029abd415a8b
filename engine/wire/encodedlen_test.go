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
