package suite

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
)

// TestImportCertificateKeys: a key as crypto/x509 parses it signs and
// verifies in its suite's encoding; a key of another scheme or curve, and
// any key in the Ed448 suites, is refused.
func TestImportCertificateKeys(t *testing.T) {
	ed, _ := func() (crypto.Signer, error) { _, k, err := ed25519.GenerateKey(rand.Reader); return k, err }()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	keys := map[string]crypto.Signer{"ed25519": ed, "p256": p256, "p384": p384, "p521": p521}
	kindOf := map[ID]string{
		X25519AES128GCMSHA256Ed25519:        "ed25519",
		X25519ChaCha20Poly1305SHA256Ed25519: "ed25519",
		P256AES128GCMSHA256P256:             "p256",
		P384AES256GCMSHA384P384:             "p384",
		P521AES256GCMSHA512P521:             "p521",
	}
	for _, id := range All() {
		s, err := New(id)
		if err != nil {
			t.Fatal(err)
		}
		kind, ok := kindOf[id]
		key := keys[kind]
		if s.CertificateKeys() != ok {
			t.Errorf("%v: CertificateKeys() = %v", id, !ok)
		}
		if !ok {
			if _, _, err := s.ImportSignaturePrivateKey(ed); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%v: import of an Ed25519 key: %v", id, err)
			}
			continue
		}
		priv, pub, err := s.ImportSignaturePrivateKey(key)
		if err != nil {
			t.Fatalf("%v: %v", id, err)
		}
		certPub, err := s.ImportSignaturePublicKey(key.Public())
		if err != nil || !bytes.Equal(certPub, pub) {
			t.Fatalf("%v: public key %x (%v), want %x", id, certPub, err, pub)
		}
		if derived, err := s.SignaturePublicKey(priv); err != nil || !bytes.Equal(derived, pub) {
			t.Fatalf("%v: the imported private key's public key differs", id)
		}
		sig, err := s.SignWithLabel(priv, "test", []byte("content"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.VerifyWithLabel(certPub, "test", []byte("content"), sig); err != nil {
			t.Fatalf("%v: %v", id, err)
		}
		for otherKind, other := range keys {
			if otherKind == kind {
				continue
			}
			if _, err := s.ImportSignaturePublicKey(other.Public()); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%v: import of a %T: %v", id, other, err)
			}
			if _, _, err := s.ImportSignaturePrivateKey(other); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%v: import of a private %T: %v", id, other, err)
			}
		}
	}
}
