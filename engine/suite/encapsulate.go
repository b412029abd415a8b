package suite

import (
	"crypto/rand"
	"fmt"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/math/fp25519"

	"github.com/mlsbackup/mlsbackup/engine/internal/parallel"
)

// encapPiece is how many encapsulations share one field inversion; the
// pieces are spread over the CPUs.
const encapPiece = 32

// EncapsulateMany is [Suite.Encapsulate] for each of pubs, spread over
// the CPUs. For DHKEM(X25519) the ephemeral public keys of each piece of
// encapPiece are mapped to Montgomery form with one field inversion for
// all of them (Montgomery's trick) instead of one each: a sparse path in a
// large group encapsulates to hundreds of members.
func (s *Suite) EncapsulateMany(pubs [][]byte) ([]*Encapsulation, error) {
	out := make([]*Encapsulation, len(pubs))
	k, ok := s.kem.(x25519KEM)
	if !ok {
		// Other KEMs encapsulate in EncryptWithLabelTo.
		for i, pub := range pubs {
			if err := s.kem.validatePublic(pub); err != nil {
				return nil, fmt.Errorf("encapsulate: %w", err)
			}
			out[i] = &Encapsulation{pub: pub}
		}
		return out, nil
	}
	pieces := (len(pubs) + encapPiece - 1) / encapPiece
	err := parallel.For(pieces, 2, func(p int) error {
		lo, hi := p*encapPiece, min((p+1)*encapPiece, len(pubs))
		return k.encapBatch(pubs[lo:hi], out[lo:hi])
	})
	if err != nil {
		return nil, fmt.Errorf("encapsulate: %w", err)
	}
	return out, nil
}

// StartEncapsulateMany runs [Suite.EncapsulateMany] on other goroutines
// and returns a function that waits for its result. The caller goes on
// with work the encapsulations do not depend on, such as signing the
// content whose hash becomes their HPKE context.
func (s *Suite) StartEncapsulateMany(pubs [][]byte) (wait func() ([]*Encapsulation, error)) {
	type result struct {
		encs []*Encapsulation
		err  error
	}
	done := make(chan result, 1)
	go func() {
		encs, err := s.EncapsulateMany(pubs)
		done <- result{encs, err}
	}()
	return func() ([]*Encapsulation, error) {
		r := <-done
		return r.encs, r.err
	}
}

// encapBatch fills out[i] with an encapsulation to pubs[i], each with a
// fresh ephemeral key.
func (k x25519KEM) encapBatch(pubs [][]byte, out []*Encapsulation) error {
	for _, pub := range pubs {
		if err := k.validatePublic(pub); err != nil {
			return err
		}
	}
	sks := make([][x25519Size]byte, len(pubs))
	for i := range sks {
		if _, err := rand.Read(sks[i][:]); err != nil {
			return err
		}
	}
	pks, err := x25519BaseBatch(k.comb(), sks)
	if err != nil {
		return err
	}
	for i, pub := range pubs {
		shared, enc, err := k.encapKeys(&sks[i], &pks[i], (*[x25519Size]byte)(pub))
		clear(sks[i][:])
		if err != nil {
			return err
		}
		out[i] = &Encapsulation{pub: pub, shared: shared, enc: enc}
	}
	return nil
}

// x25519BaseBatch returns X25519(sk, 9) for each of sks, as x25519Base
// does, with the constant-time table multiplication of bc and one
// inversion for all the Edwards-to-Montgomery maps u = (Z + Y) / (Z − Y).
func x25519BaseBatch(bc *baseComb, sks [][x25519Size]byte) ([][x25519Size]byte, error) {
	num := make([]fe, len(sks))
	den := make([]fe, len(sks))
	var p edPoint
	for i := range sks {
		s, err := edwards25519.NewScalar().SetBytesWithClamping(sks[i][:])
		if err != nil {
			return nil, fmt.Errorf("x25519 base multiplication: %w", err)
		}
		bc.mul(&p, (*[32]byte)(s.Bytes()))
		fp25519.Add(&num[i], &p.z, &p.y)
		fp25519.Sub(&den[i], &p.z, &p.y) // never zero: the product is never the identity (see x25519Base)
	}
	// Montgomery's trick: prefix[i] = den[0]···den[i]; one inversion of
	// the whole product (constant time: the points are secret), then walk
	// back.
	prefix := make([]fe, len(sks))
	prefix[0] = den[0]
	for i := 1; i < len(sks); i++ {
		fp25519.Mul(&prefix[i], &prefix[i-1], &den[i])
	}
	var inv, u, t fe
	invertConstantTime(&inv, &prefix[len(sks)-1])
	pks := make([][x25519Size]byte, len(sks))
	for i := len(sks) - 1; i >= 0; i-- {
		if i > 0 {
			fp25519.Mul(&t, &inv, &prefix[i-1]) // 1/den[i]
			fp25519.Mul(&inv, &inv, &den[i])    // 1/(den[0]···den[i-1])
		} else {
			t = inv
		}
		fp25519.Mul(&u, &num[i], &t)
		feBytes(&pks[i], &u)
	}
	return pks, nil
}
