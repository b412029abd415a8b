package suite

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"hash"
	"sync"

	"github.com/cloudflare/circl/sign/ed448"
)

// signingKey caches the most recently parsed signature private key, keyed
// by its bytes (compared in constant time): a member signs many messages
// with one long-term key, and parsing an Ed25519 seed or an ECDSA scalar
// costs a scalar multiplication. It holds signature keys only, which the
// group state holds for the group's whole life anyway; HPKE private keys,
// which RFC 9420 §9.2 deletes once used, are parsed for each use and never
// kept.
type signingKey[K any] struct {
	mu  sync.Mutex
	raw []byte
	key K
}

func (c *signingKey[K]) get(raw []byte, parse func([]byte) (K, error)) (K, error) {
	c.mu.Lock()
	if c.raw != nil && subtle.ConstantTimeCompare(c.raw, raw) == 1 {
		k := c.key
		c.mu.Unlock()
		return k, nil
	}
	c.mu.Unlock()
	k, err := parse(raw)
	if err != nil {
		return k, err
	}
	c.mu.Lock()
	c.raw = bytes.Clone(raw)
	c.key = k
	c.mu.Unlock()
	return k, nil
}

// ed25519Signer is Ed25519 (RFC 8032) on crypto/ed25519; private keys are
// 32-byte seeds.
type ed25519Signer struct {
	cache *signingKey[ed25519.PrivateKey]
}

var _ signer = ed25519Signer{}

func newEd25519Signer() ed25519Signer {
	return ed25519Signer{cache: &signingKey[ed25519.PrivateKey]{}}
}

func parseEd25519(seed []byte) (ed25519.PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ed25519 private key of %d bytes: %w", len(seed), ErrInvalidKey)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func (ed25519Signer) generate() (priv, pub []byte, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	return sk.Seed(), pk, nil
}

func (e ed25519Signer) public(priv []byte) ([]byte, error) {
	sk, err := e.cache.get(priv, parseEd25519)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(sk[ed25519.SeedSize:]), nil
}

func (e ed25519Signer) sign(priv []byte, msg ...[]byte) ([]byte, error) {
	sk, err := e.cache.get(priv, parseEd25519)
	if err != nil {
		return nil, err
	}
	return ed25519.Sign(sk, bytes.Join(msg, nil)), nil
}

func (ed25519Signer) verify(pub, msg, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("ed25519 public key of %d bytes: %w", len(pub), ErrInvalidKey)
	}
	if !ed25519.Verify(pub, msg, sig) {
		return ErrBadSignature
	}
	return nil
}

// ecdsaCurve names the NIST curves used for ECDSA.
type ecdsaCurve int

const (
	curveP256 ecdsaCurve = iota
	curveP384
	curveP521
)

// ecdsaSigner is ECDSA on crypto/ecdsa over a NIST curve with the suite
// hash, with crypto/ecdsa's randomized (hedged) nonces; private keys are
// big-endian scalars, public keys uncompressed points, signatures DER.
type ecdsaSigner struct {
	curve   elliptic.Curve
	size    int
	newHash func() hash.Hash
	cache   *signingKey[*ecdsa.PrivateKey]
}

var _ signer = ecdsaSigner{}

func newECDSASigner(c ecdsaCurve, h func() hash.Hash) ecdsaSigner {
	s := ecdsaSigner{newHash: h, cache: &signingKey[*ecdsa.PrivateKey]{}}
	switch c {
	case curveP256:
		s.curve, s.size = elliptic.P256(), 32
	case curveP384:
		s.curve, s.size = elliptic.P384(), 48
	case curveP521:
		s.curve, s.size = elliptic.P521(), 66
	}
	return s
}

func (e ecdsaSigner) parse(priv []byte) (*ecdsa.PrivateKey, error) {
	if len(priv) == 0 || len(priv) > e.size {
		return nil, fmt.Errorf("ecdsa private key of %d bytes: %w", len(priv), ErrInvalidKey)
	}
	d := priv
	if len(d) < e.size {
		d = make([]byte, e.size)
		copy(d[e.size-len(priv):], priv)
	}
	sk, err := ecdsa.ParseRawPrivateKey(e.curve, d)
	if err != nil {
		return nil, fmt.Errorf("ecdsa private key: %w", ErrInvalidKey)
	}
	return sk, nil
}

func (e ecdsaSigner) digest(msg ...[]byte) []byte {
	h := e.newHash()
	for _, m := range msg {
		h.Write(m)
	}
	return h.Sum(nil)
}

func (e ecdsaSigner) generate() (priv, pub []byte, err error) {
	sk, err := ecdsa.GenerateKey(e.curve, rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	priv, err = sk.Bytes()
	if err != nil {
		return nil, nil, err
	}
	pub, err = sk.PublicKey.Bytes()
	if err != nil {
		return nil, nil, err
	}
	return priv, pub, nil
}

func (e ecdsaSigner) public(priv []byte) ([]byte, error) {
	sk, err := e.cache.get(priv, e.parse)
	if err != nil {
		return nil, err
	}
	return sk.PublicKey.Bytes()
}

func (e ecdsaSigner) sign(priv []byte, msg ...[]byte) ([]byte, error) {
	sk, err := e.cache.get(priv, e.parse)
	if err != nil {
		return nil, err
	}
	return ecdsa.SignASN1(rand.Reader, sk, e.digest(msg...))
}

func (e ecdsaSigner) verify(pub, msg, sig []byte) error {
	pk, err := ecdsa.ParseUncompressedPublicKey(e.curve, pub)
	if err != nil {
		return fmt.Errorf("ecdsa public key: %w", ErrInvalidKey)
	}
	if !ecdsa.VerifyASN1(pk, e.digest(msg), sig) {
		return ErrBadSignature
	}
	return nil
}

// ed448Signer is pure Ed448 with an empty context (RFC 8032) on
// github.com/cloudflare/circl/sign/ed448; private keys are 57-byte seeds.
type ed448Signer struct {
	cache *signingKey[ed448.PrivateKey]
}

func newEd448Signer() ed448Signer {
	return ed448Signer{cache: &signingKey[ed448.PrivateKey]{}}
}

var _ signer = ed448Signer{}

func parseEd448(seed []byte) (ed448.PrivateKey, error) {
	if len(seed) != ed448.SeedSize {
		return nil, fmt.Errorf("ed448 private key of %d bytes: %w", len(seed), ErrInvalidKey)
	}
	return ed448.NewKeyFromSeed(seed), nil
}

func (ed448Signer) generate() (priv, pub []byte, err error) {
	pk, sk, err := ed448.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	return bytes.Clone(sk.Seed()), pk, nil
}

func (e ed448Signer) public(priv []byte) ([]byte, error) {
	sk, err := e.cache.get(priv, parseEd448)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(sk.Public().(ed448.PublicKey)), nil
}

func (e ed448Signer) sign(priv []byte, msg ...[]byte) ([]byte, error) {
	sk, err := e.cache.get(priv, parseEd448)
	if err != nil {
		return nil, err
	}
	return ed448.Sign(sk, bytes.Join(msg, nil), ""), nil
}

func (ed448Signer) verify(pub, msg, sig []byte) error {
	if len(pub) != ed448.PublicKeySize {
		return fmt.Errorf("ed448 public key of %d bytes: %w", len(pub), ErrInvalidKey)
	}
	if len(sig) != ed448.SignatureSize || !ed448.Verify(ed448.PublicKey(pub), msg, sig, "") {
		return ErrBadSignature
	}
	return nil
}
