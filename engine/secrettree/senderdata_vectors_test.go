package secrettree_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// TestSecretTreeSenderDataVectors checks the sender_data part of every
// case of secret-tree.json against framing.SenderDataKeyNonce, which owns
// sender-data key derivation.
func TestSecretTreeSenderDataVectors(t *testing.T) {
	var cases []struct {
		CipherSuite suite.ID `json:"cipher_suite"`
		SenderData  struct {
			SenderDataSecret vectors.Hex `json:"sender_data_secret"`
			Ciphertext       vectors.Hex `json:"ciphertext"`
			Key              vectors.Hex `json:"key"`
			Nonce            vectors.Hex `json:"nonce"`
		} `json:"sender_data"`
	}
	if err := vectors.Load("secret-tree", &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("secret-tree: no cases")
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d/%v", i, c.CipherSuite), func(t *testing.T) {
			s, err := suite.New(c.CipherSuite)
			if err != nil {
				t.Fatal(err)
			}
			sd := c.SenderData
			key, nonce := framing.SenderDataKeyNonce(s, sd.SenderDataSecret, sd.Ciphertext)
			if !bytes.Equal(key, sd.Key) || !bytes.Equal(nonce, sd.Nonce) {
				t.Errorf("sender data key/nonce = %x/%x, want %x/%x", key, nonce, sd.Key, sd.Nonce)
			}
		})
	}
}
