package suite

import (
	"crypto/rand"
	"fmt"
)

// x25519KEM is HPKE base mode (RFC 9180) with DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256 and the suite's AEAD, written here rather than taken from
// crypto/hpke because a commit seals to every member of a sparse tree and
// the standard library spends two Montgomery ladders per seal (one to
// compute the ephemeral public key, one for the DH). Here the ephemeral
// public key is a fixed-base multiplication ([x25519Base]) and the DH a
// single, faster ladder ([x25519DH]); the constants of the key schedule
// are computed once per suite.
//
// Keys use the encodings of crypto/hpke, so keys and ciphertexts move
// freely between the two: private keys are 32 scalar bytes, serialized
// clamped (RFC 9180 §7.1.2) and accepted unclamped (clamped when used);
// public keys and encapsulated keys are the 32-byte u-coordinate.
type x25519KEM struct {
	aead aeadKind
	s    *sha256Schedule
	// pubs caches the public key of the last private key used to open:
	// decapsulation needs it for kem_context, and a member often decrypts
	// with the same leaf key.
	pubs *lastKey[[x25519Size]byte]
	// comb is the constant-time fixed-base table of the batched
	// ephemeral keys (EncapsulateMany), shared with the Suite's signer.
	comb func() *baseComb
}

var _ kem = x25519KEM{}

func newX25519KEM(a aeadKind, comb func() *baseComb) x25519KEM {
	return x25519KEM{aead: a, s: newSHA256Schedule(a), pubs: &lastKey[[x25519Size]byte]{},
		comb: comb}
}

// x25519Pair returns the serialized key pair of the private scalar sk.
// SerializePrivateKey clamps (RFC 9180 §7.1.2), as crypto/hpke does.
func x25519Pair(sk *[x25519Size]byte) (priv, pub []byte) {
	var pk [x25519Size]byte
	x25519Base(&pk, sk)
	clamped := *sk
	clampX25519(&clamped)
	return clamped[:], pk[:]
}

func (k x25519KEM) generate() (priv, pub []byte, err error) {
	var sk [x25519Size]byte
	if _, err := rand.Read(sk[:]); err != nil {
		return nil, nil, err
	}
	priv, pub = x25519Pair(&sk)
	return priv, pub, nil
}

func (k x25519KEM) derive(ikm []byte) (priv, pub []byte, err error) {
	sk := k.s.deriveSecret(ikm)
	priv, pub = x25519Pair(&sk)
	return priv, pub, nil
}

func (k x25519KEM) publicFromPrivate(priv []byte) ([]byte, error) {
	pk, err := k.publicOf(priv)
	if err != nil {
		return nil, err
	}
	return pk[:], nil
}

// publicOf returns the public key of a serialized private key, from the
// cache when it is the last one asked for.
func (k x25519KEM) publicOf(priv []byte) ([x25519Size]byte, error) {
	return k.pubs.get(priv, func(raw []byte) ([x25519Size]byte, error) {
		var pk [x25519Size]byte
		if len(raw) != x25519Size {
			return pk, fmt.Errorf("private key of %d bytes: %w", len(raw), ErrInvalidKey)
		}
		x25519Base(&pk, (*[x25519Size]byte)(raw))
		return pk, nil
	})
}

// validatePublic accepts any 32-byte string, as crypto/ecdh does: every
// u-coordinate is a valid X25519 input (RFC 7748 §5). A point of small
// order is rejected where it is used, by the all-zero DH check.
func (k x25519KEM) validatePublic(pub []byte) error {
	if len(pub) != x25519Size {
		return fmt.Errorf("public key of %d bytes: %w", len(pub), ErrInvalidKey)
	}
	return nil
}

// encap is Encap(pkR) of RFC 9180 §4.1 with a fresh ephemeral key.
func (k x25519KEM) encap(pkR []byte) (sharedSecret, enc []byte, err error) {
	if err := k.validatePublic(pkR); err != nil {
		return nil, nil, err
	}
	var skE [x25519Size]byte
	if _, err := rand.Read(skE[:]); err != nil {
		return nil, nil, err
	}
	return k.encapWith(&skE, (*[x25519Size]byte)(pkR))
}

// encapWith is Encap(pkR) with the ephemeral private key skE.
func (k x25519KEM) encapWith(skE, pkR *[x25519Size]byte) (sharedSecret, enc []byte, err error) {
	var pkE [x25519Size]byte
	x25519Base(&pkE, skE)
	return k.encapKeys(skE, &pkE, pkR)
}

// encapKeys is Encap(pkR) with the ephemeral key pair (skE, pkE).
func (k x25519KEM) encapKeys(skE, pkE, pkR *[x25519Size]byte) (sharedSecret, enc []byte, err error) {
	var dh [x25519Size]byte
	if !x25519DH(&dh, skE, pkR) {
		return nil, nil, fmt.Errorf("setup: public key of small order: %w", ErrInvalidKey)
	}
	var kemContext [2 * x25519Size]byte
	copy(kemContext[:x25519Size], pkE[:])
	copy(kemContext[x25519Size:], pkR[:])
	enc = append(make([]byte, 0, x25519Size), kemContext[:x25519Size]...)
	shared := k.s.extractAndExpand(dh[:], kemContext[:])
	return shared[:], enc, nil
}

// decap is Decap(enc, skR) of RFC 9180 §4.1. A malformed or small-order
// enc returns an error wrapping [ErrDecrypt].
func (k x25519KEM) decap(priv, enc []byte) ([]byte, error) {
	pkR, err := k.publicOf(priv)
	if err != nil {
		return nil, err
	}
	if len(enc) != x25519Size {
		return nil, fmt.Errorf("kem output of %d bytes: %w", len(enc), ErrDecrypt)
	}
	var dh [x25519Size]byte
	if !x25519DH(&dh, (*[x25519Size]byte)(priv), (*[x25519Size]byte)(enc)) {
		return nil, fmt.Errorf("kem output of small order: %w", ErrDecrypt)
	}
	var kemContext [2 * x25519Size]byte
	copy(kemContext[:], enc)
	copy(kemContext[x25519Size:], pkR[:])
	shared := k.s.extractAndExpand(dh[:], kemContext[:])
	return shared[:], nil
}

func (k x25519KEM) seal(pub, info, aad, pt []byte) (enc, ct []byte, err error) {
	shared, enc, err := k.encap(pub)
	if err != nil {
		return nil, nil, err
	}
	return k.sealWith(shared, enc, info, aad, pt)
}

// sealWith finishes SealBase once the KEM has run: the key schedule and
// the AEAD encryption with sequence number 0, whose nonce is the base
// nonce (RFC 9180 §5.2).
func (k x25519KEM) sealWith(shared, enc, info, aad, pt []byte) ([]byte, []byte, error) {
	c := k.s.keySchedule(shared, info, false)
	a, err := k.aead.newCipher(c.key[:k.s.nk])
	if err != nil {
		return nil, nil, err
	}
	return enc, a.Seal(make([]byte, 0, len(pt)+a.Overhead()), c.baseNonce[:], pt, aad), nil
}

func (k x25519KEM) open(priv, enc, info, aad, ct []byte) ([]byte, error) {
	shared, err := k.decap(priv, enc)
	if err != nil {
		return nil, err
	}
	c := k.s.keySchedule(shared, info, false)
	a, err := k.aead.newCipher(c.key[:k.s.nk])
	if err != nil {
		return nil, err
	}
	pt, err := a.Open(nil, c.baseNonce[:], ct, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

func (k x25519KEM) exportSender(pub, info, exporterContext []byte, length int) (enc, secret []byte, err error) {
	shared, enc, err := k.encap(pub)
	if err != nil {
		return nil, nil, err
	}
	c := k.s.keySchedule(shared, info, true)
	return enc, k.s.export(&c, exporterContext, length), nil
}

func (k x25519KEM) exportReceiver(priv, enc, info, exporterContext []byte, length int) ([]byte, error) {
	shared, err := k.decap(priv, enc)
	if err != nil {
		return nil, err
	}
	c := k.s.keySchedule(shared, info, true)
	return k.s.export(&c, exporterContext, length), nil
}
