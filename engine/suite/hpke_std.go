package suite

import (
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"
)

// kemCurve names the DHKEMs served by the standard library.
type kemCurve int

const (
	kemX25519 kemCurve = iota
	kemP256
	kemP384
	kemP521
)

// stdKEM is HPKE on crypto/hpke for DHKEM(P-256), DHKEM(P-384) and
// DHKEM(P-521). It also serves DHKEM(X25519), which the suites take from
// circl ([circlKEM]): the benchmarks compare the two.
//
// A private key is parsed for each use and dropped after it: nothing here
// keeps one (RFC 9420 §9.2 deletes them once used).
type stdKEM struct {
	kem  hpke.KEM
	kdf  hpke.KDF
	aead hpke.AEAD
	// scalarSize is Nsk for the NIST curves, whose private keys are
	// big-endian scalars that some encoders (and the interop vectors)
	// shorten by dropping leading zero bytes; 0 for X25519.
	scalarSize int
}

var _ kem = stdKEM{}

func newStdKEM(c kemCurve, a aeadKind) stdKEM {
	var k stdKEM
	switch c {
	case kemX25519:
		k.kem, k.kdf = hpke.DHKEM(ecdh.X25519()), hpke.HKDFSHA256()
	case kemP256:
		k.kem, k.kdf, k.scalarSize = hpke.DHKEM(ecdh.P256()), hpke.HKDFSHA256(), 32
	case kemP384:
		k.kem, k.kdf, k.scalarSize = hpke.DHKEM(ecdh.P384()), hpke.HKDFSHA384(), 48
	case kemP521:
		k.kem, k.kdf, k.scalarSize = hpke.DHKEM(ecdh.P521()), hpke.HKDFSHA512(), 66
	}
	switch a {
	case aesGCM128:
		k.aead = hpke.AES128GCM()
	case aesGCM256:
		k.aead = hpke.AES256GCM()
	case chacha20Poly1305:
		k.aead = hpke.ChaCha20Poly1305()
	}
	return k
}

func serializePair(sk hpke.PrivateKey) (priv, pub []byte, err error) {
	priv, err = sk.Bytes()
	if err != nil {
		return nil, nil, err
	}
	return priv, sk.PublicKey().Bytes(), nil
}

func (k stdKEM) generate() (priv, pub []byte, err error) {
	sk, err := k.kem.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	return serializePair(sk)
}

func (k stdKEM) derive(ikm []byte) (priv, pub []byte, err error) {
	sk, err := k.kem.DeriveKeyPair(ikm)
	if err != nil {
		return nil, nil, err
	}
	return serializePair(sk)
}

func (k stdKEM) privateKey(priv []byte) (hpke.PrivateKey, error) {
	if k.scalarSize > 0 && len(priv) > 0 && len(priv) < k.scalarSize {
		padded := make([]byte, k.scalarSize)
		copy(padded[k.scalarSize-len(priv):], priv)
		priv = padded
	}
	sk, err := k.kem.NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", ErrInvalidKey)
	}
	return sk, nil
}

func (k stdKEM) publicKey(pub []byte) (hpke.PublicKey, error) {
	pk, err := k.kem.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", ErrInvalidKey)
	}
	return pk, nil
}

func (k stdKEM) publicFromPrivate(priv []byte) ([]byte, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	return sk.PublicKey().Bytes(), nil
}

func (k stdKEM) validatePublic(pub []byte) error {
	_, err := k.publicKey(pub)
	return err
}

func (k stdKEM) seal(pub, info, aad, pt []byte) (enc, ct []byte, err error) {
	pk, err := k.publicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	enc, sender, err := hpke.NewSender(pk, k.kdf, k.aead, info)
	if err != nil {
		return nil, nil, fmt.Errorf("setup: %w: %v", ErrInvalidKey, err)
	}
	ct, err = sender.Seal(aad, pt)
	if err != nil {
		return nil, nil, err
	}
	return enc, ct, nil
}

func (k stdKEM) open(priv, enc, info, aad, ct []byte) ([]byte, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	r, err := hpke.NewRecipient(enc, sk, k.kdf, k.aead, info)
	if err != nil {
		return nil, fmt.Errorf("kem output: %w", ErrDecrypt)
	}
	pt, err := r.Open(aad, ct)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

func (k stdKEM) exportSender(pub, info, exporterContext []byte, length int) (enc, secret []byte, err error) {
	pk, err := k.publicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	enc, sender, err := hpke.NewSender(pk, k.kdf, k.aead, info)
	if err != nil {
		return nil, nil, fmt.Errorf("setup: %w: %v", ErrInvalidKey, err)
	}
	secret, err = sender.Export(string(exporterContext), length)
	if err != nil {
		return nil, nil, err
	}
	return enc, secret, nil
}

func (k stdKEM) exportReceiver(priv, enc, info, exporterContext []byte, length int) ([]byte, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	r, err := hpke.NewRecipient(enc, sk, k.kdf, k.aead, info)
	if err != nil {
		return nil, fmt.Errorf("kem output: %w", ErrDecrypt)
	}
	return r.Export(string(exporterContext), length)
}
