package suite

import (
	"bytes"
	"crypto/ed25519"
	"sync"

	"filippo.io/edwards25519"
)

// Window widths of the verifier's tables: per-key tables of 6-bit signed
// windows (43 windows × 32 multiples, 165 KB, about 0.7 ms to build on a
// background goroutine; at most keyTableMax of them, 5.3 MB), and one
// base-point table of 7-bit windows (37 windows × 64 multiples, about
// 280 KB and 1.3 ms to build, once per Suite — engine groups share their
// Suites through a suite.Registry), built with the verifier's first key
// table: [S]B − [k]A then costs 80 mixed additions instead of 128 with
// 4-bit windows for both.
const (
	keyWindow  = 6
	baseWindow = 7
)

// Key table cache bounds (see keyTableCache).
const (
	keyTableBuildAt = 3
	keyTableMax     = 32
	keySeenMax      = 1024
)

// ed25519Verifier verifies Ed25519 signatures with exactly the acceptance
// rule of crypto/ed25519.Verify (RFC 8032 without the cofactor: S < L, A
// decoded like edwards25519.Point.SetBytes, which accepts non-canonical y,
// k = SHA-512(R‖A‖M) mod L, accept iff encode([S]B − [k]A) equals R), faster:
//
//   - keys verified repeatedly get precomputed tables (keyTableCache,
//     built in the background), so [k]A and [S]B are about 80 mixed
//     additions and no doubling (verifyTable);
//   - other keys are verified with half-size scalars and half the
//     doublings (verifySplit, see ed25519_split.go), or by crypto/ed25519
//     in the rare case no short split is found.
//
// It is safe for concurrent use.
type ed25519Verifier struct {
	c         *curve
	base      func() *fixedTable // built on first use
	splitBase func() *splitBase  // built on first use
	keys      *keyTableCache
	builds    sync.WaitGroup // background table builds (see build)
}

func newEd25519Verifier() *ed25519Verifier {
	c := newCurve()
	v := &ed25519Verifier{c: c, keys: newKeyTableCache(keyTableBuildAt, keyTableMax, keySeenMax)}
	v.base = sync.OnceValue(func() *fixedTable {
		var b edPoint
		return c.newFixedTable(b.fromPoint(edwards25519.NewGeneratorPoint()), baseWindow)
	})
	v.splitBase = sync.OnceValue(c.newSplitBase)
	return v
}

// verify reports whether sig is a valid signature of msg by pub.
func (v *ed25519Verifier) verify(pub, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
		return false
	}
	key := [32]byte(pub)
	t, build := v.keys.lookup(&key)
	if build {
		v.builds.Add(1)
		go v.build(key)
	}
	if t != nil {
		return v.verifyTable(t, pub, msg, sig)
	}
	return v.verifyOnce(pub, msg, sig)
}

// verifyCold is verify without counting pub as seen, so it never leads to
// a table build: for signatures whose key is unlikely to come back soon
// (leaf nodes, KeyPackages, GroupInfos — a joiner checks a thousand of
// them once each).
func (v *ed25519Verifier) verifyCold(pub, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
		return false
	}
	return v.verifyOnce(pub, msg, sig)
}

// build builds key's table, and the base-point table if it is still
// missing, in the background, so the verification that asked for them
// goes on without a table and the later ones use them.
func (v *ed25519Verifier) build(key [32]byte) {
	defer v.builds.Done()
	t, ok := v.keyTable(key[:])
	if !ok {
		v.keys.abandon(&key) // crypto/ed25519 rejects the key anyway
		return
	}
	v.base()
	v.keys.insert(&key, t)
}

// keyTable builds the table of the 32-byte public key pub, or reports that
// edwards25519.Point.SetBytes rejects it.
func (v *ed25519Verifier) keyTable(pub []byte) (*fixedTable, bool) {
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, false
	}
	var a edPoint
	return v.c.newFixedTable(a.fromPoint(A), keyWindow), true
}

// verifyOnce verifies without a table: with verifySplit, or crypto/ed25519
// in the rare case splitScalar finds no short pair.
func (v *ed25519Verifier) verifyOnce(pub, msg, sig []byte) bool {
	if valid, ok := v.verifySplit(pub, msg, sig); ok {
		return valid
	}
	return ed25519.Verify(pub, msg, sig)
}

// verifyTable verifies with the precomputed table t of pub.
func (v *ed25519Verifier) verifyTable(t *fixedTable, pub, msg, sig []byte) bool {
	S, err := new(edwards25519.Scalar).SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	k := hashScalar(sig[:32], pub, [][]byte{msg})
	var sb, kb [32]byte
	copy(sb[:], S.Bytes())
	copy(kb[:], k.Bytes())
	var buf [maxDigits]int8
	var r edPoint
	r.identity()
	base := v.base()
	base.accumulate(&r, recode(buf[:], &sb, base.w), false)
	t.accumulate(&r, recode(buf[:], &kb, t.w), true)
	var enc [32]byte
	r.encode(&enc)
	return bytes.Equal(enc[:], sig[:32])
}

// fieldP is p = 2^255 − 19, little endian.
const fieldP = "\xed\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"

// canonicalPoint reports whether the 32-byte encoding pub is canonical:
// y < p, and the sign bit clear when x = 0 (y = ±1). Point.SetBytes also
// accepts the other encodings; Point.Bytes never returns them.
func canonicalPoint(pub []byte) bool {
	var y [32]byte
	copy(y[:], pub)
	sign := y[31] >> 7
	y[31] &= 0x7f
	// y < p, compared from the most significant byte.
	for i := 31; i >= 0; i-- {
		if y[i] != fieldP[i] {
			if y[i] > fieldP[i] {
				return false
			}
			break
		}
		if i == 0 {
			return false // y = p
		}
	}
	if sign == 0 {
		return true
	}
	// y = 1 or y = p − 1 have x = 0.
	one := [32]byte{1}
	pm1 := [32]byte([]byte(fieldP))
	pm1[0]--
	return y != one && y != pm1
}
