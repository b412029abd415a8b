package suite

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"

	circlhpke "github.com/cloudflare/circl/hpke"
	circlkem "github.com/cloudflare/circl/kem"
)

// circlKEM is HPKE base mode (RFC 9180) on github.com/cloudflare/circl/hpke
// for DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and DHKEM(X448,
// HKDF-SHA512) with HKDF-SHA512, with the suite's AEAD.
//
// The standard library has no X448. For X25519 crypto/hpke serves too, but
// circl is faster for what MLS does most (BenchmarkPrimitives,
// "HPKE/…/crypto-hpke-X25519…" beside "HPKE/…"): circl computes public
// keys with a ladder specialised to the base point and runs its field
// arithmetic in assembly, where crypto/ecdh runs the generic ladder for
// both, and parsing a private key costs nothing where crypto/ecdh
// computes its public key at once.
type circlKEM struct {
	suite  circlhpke.Suite
	scheme circlkem.Scheme
	size   int // Nsk = Npk = Nenc
	// std is crypto/hpke's DHKEM(X25519), which derives key pairs from an
	// ikm of any length; nil for X448.
	std hpke.KEM
}

var _ kem = circlKEM{}

// The HPKE KEM identifiers (RFC 9180 §7.1) and key sizes of the DHKEMs
// served by circl.
const (
	x448KEMID  = 0x0021 // DHKEM(X448, HKDF-SHA512)
	x25519Size = 32
	x448Size   = 56
)

func newCircl(k circlhpke.KEM, kdf circlhpke.KDF, a aeadKind) circlKEM {
	aead := circlhpke.AEAD_AES256GCM
	switch a {
	case aesGCM128:
		aead = circlhpke.AEAD_AES128GCM
	case chacha20Poly1305:
		aead = circlhpke.AEAD_ChaCha20Poly1305
	}
	return circlKEM{
		suite:  circlhpke.NewSuite(k, kdf, aead),
		scheme: k.Scheme(),
		size:   k.Scheme().PrivateKeySize(),
	}
}

func newX25519KEM(a aeadKind) circlKEM {
	k := newCircl(circlhpke.KEM_X25519_HKDF_SHA256, circlhpke.KDF_HKDF_SHA256, a)
	k.std = hpke.DHKEM(ecdh.X25519())
	return k
}

func newX448KEM(a aeadKind) circlKEM {
	return newCircl(circlhpke.KEM_X448_HKDF_SHA512, circlhpke.KDF_HKDF_SHA512, a)
}

// pair serializes sk and its public key. SerializePrivateKey of X25519
// clamps the scalar (RFC 9180 §7.1.2), as crypto/hpke's Bytes does and
// circl's MarshalBinary does not.
func (k circlKEM) pair(sk circlkem.PrivateKey) (priv, pub []byte, err error) {
	priv, err = sk.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	pub, err = sk.Public().MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	if k.std != nil {
		clampX25519(priv)
	}
	return priv, pub, nil
}

// clampX25519 is the clamping SerializePrivateKey applies to an X25519
// private key (RFC 9180 §7.1.2, RFC 7748 §5): bit operations on the
// serialized bytes, which DeserializePrivateKey and every X25519 function
// repeat, so that clamped and unclamped encodings are the same key.
func clampX25519(b []byte) {
	b[0] &= 248
	b[31] &= 127
	b[31] |= 64
}

func (k circlKEM) generate() (priv, pub []byte, err error) {
	_, sk, err := k.scheme.GenerateKeyPair()
	if err != nil {
		return nil, nil, err
	}
	return k.pair(sk)
}

// derive is DeriveKeyPair(ikm) of RFC 9180 §7.1.3. circl takes an ikm of
// exactly Nsk bytes, which MLS passes for X25519 (Nh = 32); other lengths
// go to crypto/hpke for X25519, and for X448 (Nh = 64), which neither
// library derives from such an ikm, to [deriveX448].
func (k circlKEM) derive(ikm []byte) (priv, pub []byte, err error) {
	switch {
	case len(ikm) == k.scheme.SeedSize():
		_, sk := k.scheme.DeriveKeyPair(ikm)
		return k.pair(sk)
	case k.std != nil:
		sk, err := k.std.DeriveKeyPair(ikm)
		if err != nil {
			return nil, nil, err
		}
		return serializePair(sk)
	}
	sk, err := deriveX448(k.scheme, ikm)
	if err != nil {
		return nil, nil, err
	}
	return k.pair(sk)
}

// deriveX448 is DeriveKeyPair of DHKEM(X448, HKDF-SHA512) (RFC 9180
// §7.1.3): sk = LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk",
// "", Nsk), with crypto/hkdf for Extract and Expand. It only assembles
// the labels (§4): circl implements the same derivation but refuses an
// ikm other than Nsk = 56 bytes long, and MLS derives from Nh = 64 bytes.
// The MLS interop vectors of suites 4 and 6 check it.
func deriveX448(scheme circlkem.Scheme, ikm []byte) (circlkem.PrivateKey, error) {
	suiteID := []byte{'K', 'E', 'M', x448KEMID >> 8, x448KEMID & 0xff}
	labeledIKM := append(append(append([]byte("HPKE-v1"), suiteID...), "dkp_prk"...), ikm...)
	prk, err := hkdf.Extract(sha512.New, labeledIKM, nil)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte{0, x448Size}, "HPKE-v1"...), suiteID...)
	info = append(info, "sk"...)
	sk, err := hkdf.Expand(sha512.New, prk, string(info), x448Size)
	if err != nil {
		return nil, err
	}
	return scheme.UnmarshalBinaryPrivateKey(sk)
}

func (k circlKEM) privateKey(priv []byte) (circlkem.PrivateKey, error) {
	if len(priv) != k.size {
		return nil, fmt.Errorf("private key of %d bytes: %w", len(priv), ErrInvalidKey)
	}
	sk, err := k.scheme.UnmarshalBinaryPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", ErrInvalidKey)
	}
	return sk, nil
}

func (k circlKEM) publicKey(pub []byte) (circlkem.PublicKey, error) {
	if len(pub) != k.size {
		return nil, fmt.Errorf("public key of %d bytes: %w", len(pub), ErrInvalidKey)
	}
	pk, err := k.scheme.UnmarshalBinaryPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", ErrInvalidKey)
	}
	return pk, nil
}

func (k circlKEM) publicFromPrivate(priv []byte) ([]byte, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	return sk.Public().MarshalBinary()
}

func (k circlKEM) validatePublic(pub []byte) error {
	_, err := k.publicKey(pub)
	return err
}

func (k circlKEM) sealer(pub, info []byte) ([]byte, circlhpke.Sealer, error) {
	pk, err := k.publicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	snd, err := k.suite.NewSender(pk, info)
	if err != nil {
		return nil, nil, err
	}
	enc, sealer, err := snd.Setup(rand.Reader)
	if err != nil {
		if errors.Is(err, circlhpke.ErrInvalidKEMSharedSecret) {
			return nil, nil, fmt.Errorf("setup: %w", ErrInvalidKey)
		}
		return nil, nil, err
	}
	return enc, sealer, nil
}

func (k circlKEM) opener(priv, enc, info []byte) (circlhpke.Opener, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	if len(enc) != k.size {
		return nil, fmt.Errorf("kem output of %d bytes: %w", len(enc), ErrDecrypt)
	}
	rcv, err := k.suite.NewReceiver(sk, info)
	if err != nil {
		return nil, err
	}
	o, err := rcv.Setup(enc)
	if err != nil {
		return nil, fmt.Errorf("kem output: %w", ErrDecrypt)
	}
	return o, nil
}

func (k circlKEM) seal(pub, info, aad, pt []byte) (enc, ct []byte, err error) {
	enc, sealer, err := k.sealer(pub, info)
	if err != nil {
		return nil, nil, err
	}
	ct, err = sealer.Seal(pt, aad)
	if err != nil {
		return nil, nil, err
	}
	return enc, ct, nil
}

func (k circlKEM) open(priv, enc, info, aad, ct []byte) ([]byte, error) {
	o, err := k.opener(priv, enc, info)
	if err != nil {
		return nil, err
	}
	pt, err := o.Open(ct, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

func (k circlKEM) exportSender(pub, info, exporterContext []byte, length int) (enc, secret []byte, err error) {
	enc, sealer, err := k.sealer(pub, info)
	if err != nil {
		return nil, nil, err
	}
	return enc, sealer.Export(exporterContext, uint(length)), nil
}

func (k circlKEM) exportReceiver(priv, enc, info, exporterContext []byte, length int) ([]byte, error) {
	o, err := k.opener(priv, enc, info)
	if err != nil {
		return nil, err
	}
	return o.Export(exporterContext, uint(length)), nil
}
