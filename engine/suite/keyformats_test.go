package suite

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

// TestPassiveClientKeyFormats checks that the private keys of every
// passive-client vector parse in the formats this package documents: the
// public key derived from signature_priv, encryption_priv and init_priv
// must appear in the member's KeyPackage. (P-521 signature keys there are
// sometimes 65 bytes: a scalar with its leading zero byte dropped.)
func TestPassiveClientKeyFormats(t *testing.T) {
	for _, file := range []string{"passive-client-welcome", "passive-client-handling-commit"} {
		var cases []struct {
			CipherSuite    ID          `json:"cipher_suite"`
			KeyPackage     vectors.Hex `json:"key_package"`
			SignaturePriv  vectors.Hex `json:"signature_priv"`
			EncryptionPriv vectors.Hex `json:"encryption_priv"`
			InitPriv       vectors.Hex `json:"init_priv"`
		}
		if err := vectors.Load(file, &cases); err != nil {
			t.Fatal(err)
		}
		if len(cases) == 0 {
			t.Fatalf("%s: no cases", file)
		}
		for i, c := range cases {
			t.Run(fmt.Sprintf("%s/%d/%v", file, i, c.CipherSuite), func(t *testing.T) {
				s, err := New(c.CipherSuite)
				if err != nil {
					t.Fatal(err)
				}
				sigPub, err := s.SignaturePublicKey(c.SignaturePriv)
				if err != nil || !bytes.Contains(c.KeyPackage, sigPub) {
					t.Errorf("signature key %d bytes: public %x, %v; not in the key package", len(c.SignaturePriv), sigPub, err)
				}
				for name, priv := range map[string][]byte{"encryption": c.EncryptionPriv, "init": c.InitPriv} {
					pub, err := s.PublicKeyFromPrivate(priv)
					if err != nil || !bytes.Contains(c.KeyPackage, pub) {
						t.Errorf("%s key: public %x, %v; not in the key package", name, pub, err)
					}
				}
				sig, err := s.SignWithLabel(c.SignaturePriv, "test", []byte("content"))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.VerifyWithLabel(sigPub, "test", []byte("content"), sig); err != nil {
					t.Errorf("own signature with the vector key: %v", err)
				}
			})
		}
	}
}
