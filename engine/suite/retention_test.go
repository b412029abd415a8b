package suite

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/retain"
)

// TestSuiteKeepsNoHPKEPrivateKey checks that after every operation that
// takes an HPKE private key — decryption, export, public-key computation —
// nothing a process-wide Registry reaches still holds the key: RFC 9420
// §9.2 deletes used init and path keys, and the suites used to keep the
// last one parsed (lastKey) for the life of the process.
func TestSuiteKeepsNoHPKEPrivateKey(t *testing.T) {
	reg := NewRegistry()
	for _, id := range All() {
		s, err := reg.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub, err := s.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		derived, derivedPub, err := s.DeriveKeyPair(bytes.Repeat([]byte{7}, s.Nh()))
		if err != nil {
			t.Fatal(err)
		}
		for _, kp := range [][2][]byte{{priv, pub}, {derived, derivedPub}} {
			kem, ct, err := s.EncryptWithLabel(kp[1], "UpdatePathNode", []byte("ctx"), []byte("secret"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.DecryptWithLabel(kp[0], "UpdatePathNode", []byte("ctx"), kem, ct); err != nil {
				t.Fatal(err)
			}
			enc, _, err := s.ExportSender(kp[1], nil, []byte("x"), 32)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.ExportReceiver(kp[0], enc, nil, []byte("x"), 32); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PublicKeyFromPrivate(kp[0]); err != nil {
				t.Fatal(err)
			}
		}
		if path := retain.Find(reg, priv, derived); path != "" {
			t.Errorf("%v: the registry still holds an HPKE private key at %s", s, path)
		}
		// Control: the walk does reach into the Suite, where the last
		// signature key signed with stays cached.
		sigPriv, _, err := s.GenerateSignatureKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SignWithLabel(sigPriv, "l", nil); err != nil {
			t.Fatal(err)
		}
		if retain.Find(reg, sigPriv) == "" {
			t.Errorf("%v: the walk does not find the cached signature key", s)
		}
	}
}
