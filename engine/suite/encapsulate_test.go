package suite

import (
	"bytes"
	"testing"
)

// TestEncryptWithLabelTo checks that an encryption whose KEM step ran
// ahead decrypts with DecryptWithLabel for every suite, that each
// encapsulation gives a fresh KEM output, and that a wrong context fails.
func TestEncryptWithLabelTo(t *testing.T) {
	for _, s := range mustSuites(t) {
		priv, pub, err := s.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		context := bytes.Repeat([]byte{7}, 5000)
		pt := []byte("group secrets")
		var outputs [][]byte
		for range 2 {
			e, err := s.Encapsulate(pub)
			if err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			kem, ct, err := s.EncryptWithLabelTo(e, "Welcome", context, pt)
			if err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			got, err := s.DecryptWithLabel(priv, "Welcome", context, kem, ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("%v: decrypt = %q, %v; want %q", s, got, err, pt)
			}
			if _, err := s.DecryptWithLabel(priv, "Welcome", context[1:], kem, ct); err == nil {
				t.Fatalf("%v: decrypts under another context", s)
			}
			for _, o := range outputs {
				if bytes.Equal(o, kem) {
					t.Fatalf("%v: two encapsulations gave the same KEM output", s)
				}
			}
			outputs = append(outputs, kem)
		}
		if _, err := s.Encapsulate([]byte{1, 2, 3}); err == nil && s.ID() == X25519AES128GCMSHA256Ed25519 {
			t.Fatalf("%v: Encapsulate accepted a 3-byte public key", s)
		}
	}
}
