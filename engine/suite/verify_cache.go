package suite

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// verifiedCap bounds the successful verifications a Suite remembers.
const verifiedCap = 4096

// verified remembers signatures that verified: the SHA-256 of (public
// key, signed message, signature), each length-prefixed, entered only after
// the signature scheme accepted them. A repeat of the same triple — the
// same KeyPackage checked when committed and again when processed, a
// message processed again after a restart, a leaf seen in a second group —
// is accepted without running the scheme again; anything else, including
// every triple that failed, is verified in full. It therefore never
// changes what is accepted. It is bounded (the oldest entry goes first),
// holds no secrets, and is safe for concurrent use.
type verified struct {
	mu   sync.Mutex
	set  map[[sha256.Size]byte]struct{}
	ring [][sha256.Size]byte // insertion order; the oldest at next once full
	next int
}

func newVerified() *verified {
	return &verified{set: make(map[[sha256.Size]byte]struct{}, verifiedCap)}
}

// key returns the cache key of a verification of sig over msg by pub.
func verifiedKey(pub, msg, sig []byte) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, b := range [][]byte{pub, msg, sig} {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (v *verified) has(k [sha256.Size]byte) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.set[k]
	return ok
}

// add remembers k, forgetting the oldest entry when full.
func (v *verified) add(k [sha256.Size]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.set[k]; ok {
		return
	}
	if len(v.ring) < verifiedCap {
		v.ring = append(v.ring, k)
	} else {
		delete(v.set, v.ring[v.next])
		v.ring[v.next] = k
		v.next = (v.next + 1) % verifiedCap
	}
	v.set[k] = struct{}{}
}

// len returns the number of entries.
func (v *verified) len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.set)
}
