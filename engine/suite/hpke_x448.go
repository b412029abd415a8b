package suite

import (
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"

	circlhpke "github.com/cloudflare/circl/hpke"
	circlkem "github.com/cloudflare/circl/kem"
)

// x448KEM is HPKE with DHKEM(X448, HKDF-SHA512) and HKDF-SHA512 on
// github.com/cloudflare/circl.
type x448KEM struct {
	suite  circlhpke.Suite
	scheme circlkem.Scheme
}

var _ kem = x448KEM{}

// x448KEMID is the HPKE KEM identifier of DHKEM(X448, HKDF-SHA512).
const x448KEMID = 0x0021

// x448Size is Nsk = Npk = Nenc for DHKEM(X448).
const x448Size = 56

func newX448KEM(a aeadKind) x448KEM {
	aead := circlhpke.AEAD_AES256GCM
	if a == chacha20Poly1305 {
		aead = circlhpke.AEAD_ChaCha20Poly1305
	}
	return x448KEM{
		suite:  circlhpke.NewSuite(circlhpke.KEM_X448_HKDF_SHA512, circlhpke.KDF_HKDF_SHA512, aead),
		scheme: circlhpke.KEM_X448_HKDF_SHA512.Scheme(),
	}
}

func (k x448KEM) pair(sk circlkem.PrivateKey) (priv, pub []byte, err error) {
	priv, err = sk.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	pub, err = sk.Public().MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	return priv, pub, nil
}

func (k x448KEM) generate() (priv, pub []byte, err error) {
	_, sk, err := k.scheme.GenerateKeyPair()
	if err != nil {
		return nil, nil, err
	}
	return k.pair(sk)
}

// derive implements DeriveKeyPair of RFC 9180 §7.1.3 for X448 directly,
// because circl only accepts an ikm of exactly Nsk bytes while MLS passes
// secrets of Nh = 64 bytes.
func (k x448KEM) derive(ikm []byte) (priv, pub []byte, err error) {
	suiteID := []byte{'K', 'E', 'M', byte(x448KEMID >> 8), byte(x448KEMID & 0xff)}
	labeledIKM := append(append(append([]byte("HPKE-v1"), suiteID...), "dkp_prk"...), ikm...)
	prk := hkdfExtract(sha512.New, nil, labeledIKM)
	info := append(append([]byte{0, x448Size}, "HPKE-v1"...), suiteID...)
	info = append(info, "sk"...)
	skBytes := hkdfExpand(sha512.New, prk, info, x448Size)
	sk, err := k.scheme.UnmarshalBinaryPrivateKey(skBytes)
	if err != nil {
		return nil, nil, err
	}
	return k.pair(sk)
}

func (k x448KEM) privateKey(priv []byte) (circlkem.PrivateKey, error) {
	if len(priv) != x448Size {
		return nil, fmt.Errorf("private key of %d bytes: %w", len(priv), ErrInvalidKey)
	}
	sk, err := k.scheme.UnmarshalBinaryPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", ErrInvalidKey)
	}
	return sk, nil
}

func (k x448KEM) publicKey(pub []byte) (circlkem.PublicKey, error) {
	if len(pub) != x448Size {
		return nil, fmt.Errorf("public key of %d bytes: %w", len(pub), ErrInvalidKey)
	}
	pk, err := k.scheme.UnmarshalBinaryPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", ErrInvalidKey)
	}
	return pk, nil
}

func (k x448KEM) publicFromPrivate(priv []byte) ([]byte, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	return sk.Public().MarshalBinary()
}

func (k x448KEM) validatePublic(pub []byte) error {
	_, err := k.publicKey(pub)
	return err
}

func (k x448KEM) sealer(pub, info []byte) ([]byte, circlhpke.Sealer, error) {
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

func (k x448KEM) opener(priv, enc, info []byte) (circlhpke.Opener, error) {
	sk, err := k.privateKey(priv)
	if err != nil {
		return nil, err
	}
	if len(enc) != x448Size {
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

func (k x448KEM) seal(pub, info, aad, pt []byte) (enc, ct []byte, err error) {
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

func (k x448KEM) open(priv, enc, info, aad, ct []byte) ([]byte, error) {
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

func (k x448KEM) exportSender(pub, info, exporterContext []byte, length int) (enc, secret []byte, err error) {
	enc, sealer, err := k.sealer(pub, info)
	if err != nil {
		return nil, nil, err
	}
	return enc, sealer.Export(exporterContext, uint(length)), nil
}

func (k x448KEM) exportReceiver(priv, enc, info, exporterContext []byte, length int) ([]byte, error) {
	o, err := k.opener(priv, enc, info)
	if err != nil {
		return nil, err
	}
	return o.Export(exporterContext, uint(length)), nil
}
