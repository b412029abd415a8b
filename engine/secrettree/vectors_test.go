package secrettree

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

type secretTreeCase struct {
	CipherSuite suite.ID `json:"cipher_suite"`
	SenderData  struct {
		SenderDataSecret vectors.Hex `json:"sender_data_secret"`
		Ciphertext       vectors.Hex `json:"ciphertext"`
		Key              vectors.Hex `json:"key"`
		Nonce            vectors.Hex `json:"nonce"`
	} `json:"sender_data"`
	EncryptionSecret vectors.Hex `json:"encryption_secret"`
	Leaves           [][]struct {
		Generation       uint32      `json:"generation"`
		HandshakeKey     vectors.Hex `json:"handshake_key"`
		HandshakeNonce   vectors.Hex `json:"handshake_nonce"`
		ApplicationKey   vectors.Hex `json:"application_key"`
		ApplicationNonce vectors.Hex `json:"application_nonce"`
	} `json:"leaves"`
}

func loadSecretTreeCases(t testing.TB) []secretTreeCase {
	t.Helper()
	var cases []secretTreeCase
	if err := vectors.Load("secret-tree", &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("secret-tree: no cases")
	}
	return cases
}

// TestSecretTreeVectors checks the ratchet keys and nonces of every leaf
// and generation of every case of secret-tree.json, three ways: Peek on a
// fresh tree, KeyNonce (consuming, in order) and KeyNonce after a
// MarshalBinary/UnmarshalBinary round trip at each step.
func TestSecretTreeVectors(t *testing.T) {
	cases := loadSecretTreeCases(t)
	passed := 0
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d/%v/leaves=%d", i, c.CipherSuite, len(c.Leaves)), func(t *testing.T) {
			s, err := suite.New(c.CipherSuite)
			if err != nil {
				t.Fatal(err)
			}
			n := uint32(len(c.Leaves))
			peek, err := New(s, c.EncryptionSecret, n, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			consume, _ := New(s, c.EncryptionSecret, n, DefaultConfig())
			reload, _ := New(s, c.EncryptionSecret, n, DefaultConfig())
			for leaf, gens := range c.Leaves {
				for _, g := range gens {
					for _, ck := range []struct {
						ct         ContentType
						key, nonce []byte
					}{
						{Handshake, g.HandshakeKey, g.HandshakeNonce},
						{Application, g.ApplicationKey, g.ApplicationNonce},
					} {
						check := func(how string, key, nonce []byte, err error) {
							t.Helper()
							if err != nil || !bytes.Equal(key, ck.key) || !bytes.Equal(nonce, ck.nonce) {
								t.Errorf("%s leaf %d %v gen %d = %x/%x, %v; want %x/%x",
									how, leaf, ck.ct, g.Generation, key, nonce, err, ck.key, ck.nonce)
							}
						}
						key, nonce, err := peek.Peek(uint32(leaf), ck.ct, g.Generation)
						check("Peek", key, nonce, err)
						key, nonce, err = consume.KeyNonce(uint32(leaf), ck.ct, g.Generation)
						check("KeyNonce", key, nonce, err)
						b, err := reload.MarshalBinary()
						if err != nil {
							t.Fatal(err)
						}
						reload = &Tree{}
						if err := reload.UnmarshalBinary(b); err != nil {
							t.Fatalf("UnmarshalBinary: %v", err)
						}
						key, nonce, err = reload.KeyNonce(uint32(leaf), ck.ct, g.Generation)
						check("reloaded KeyNonce", key, nonce, err)
					}
				}
			}
			if !t.Failed() {
				passed++
			}
		})
	}
	t.Logf("secret-tree: %d/%d cases passed (ratchets)", passed, len(cases))
}
