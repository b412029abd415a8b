package wire

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// TestCiphertextListsSizedOnce checks that a path node's list of HPKE
// ciphertexts (~1000 in a commit to a group of 1000) is decoded into a list
// allocated at its exact size, counted before decoding, rather than grown
// step by step.
func TestCiphertextListsSizedOnce(t *testing.T) {
	for _, n := range []int{0, 1, 3, 100, 1000} {
		node := UpdatePathNode{EncryptionKey: bytes.Repeat([]byte{1}, 32)}
		for i := range n {
			node.EncryptedPathSecret = append(node.EncryptedPathSecret,
				HPKECiphertext{KEMOutput: bytes.Repeat([]byte{byte(i)}, 32), Ciphertext: bytes.Repeat([]byte{2}, 48+i%3)})
		}
		enc := codec.Marshal(node)
		var got UpdatePathNode
		if err := codec.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%d ciphertexts: %v", n, err)
		}
		if len(got.EncryptedPathSecret) != n || cap(got.EncryptedPathSecret) != n {
			t.Errorf("%d ciphertexts: decoded %d in a list of capacity %d", n, len(got.EncryptedPathSecret), cap(got.EncryptedPathSecret))
		}
		if !bytes.Equal(codec.Marshal(got), enc) {
			t.Errorf("%d ciphertexts: re-encoding differs", n)
		}
	}
}
