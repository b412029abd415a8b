package suite

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// aeadKind identifies the suite's AEAD algorithm.
type aeadKind uint16

// HPKE AEAD identifiers (RFC 9180 §7.3).
const (
	aesGCM128        aeadKind = 0x0001
	aesGCM256        aeadKind = 0x0002
	chacha20Poly1305 aeadKind = 0x0003
)

func (a aeadKind) keySize() int {
	switch a {
	case aesGCM128:
		return 16
	default:
		return 32
	}
}

func (a aeadKind) newCipher(key []byte) (cipher.AEAD, error) {
	if len(key) != a.keySize() {
		return nil, fmt.Errorf("aead key of %d bytes: %w", len(key), ErrInvalidKey)
	}
	if a == chacha20Poly1305 {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return newGCM(b)
}

// KeySize returns the AEAD key size Nk in bytes.
func (s *Suite) KeySize() int { return s.aead.keySize() }

// NonceSize returns the AEAD nonce size Nn in bytes (12 for every suite).
func (s *Suite) NonceSize() int { return 12 }

// Seal encrypts and authenticates pt with aad under key and nonce and
// returns the ciphertext with its tag appended.
func (s *Suite) Seal(key, nonce, aad, pt []byte) ([]byte, error) {
	c, err := s.aead.newCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if len(nonce) != c.NonceSize() {
		return nil, fmt.Errorf("seal: nonce of %d bytes: %w", len(nonce), ErrInvalidKey)
	}
	return c.Seal(make([]byte, 0, len(pt)+c.Overhead()), nonce, pt, aad), nil
}

// Open authenticates and decrypts ct with aad under key and nonce. A
// ciphertext that does not authenticate returns an error wrapping
// [ErrDecrypt].
func (s *Suite) Open(key, nonce, aad, ct []byte) ([]byte, error) {
	c, err := s.aead.newCipher(key)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if len(nonce) != c.NonceSize() {
		return nil, fmt.Errorf("open: nonce of %d bytes: %w", len(nonce), ErrInvalidKey)
	}
	pt, err := c.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrDecrypt)
	}
	return pt, nil
}
