package suite

import (
	"bytes"
	"crypto/sha256"
	"sync"
)

// HPKE identifiers (RFC 9180 §7) of the DHKEM(X25519) suites.
const (
	x25519KEMID   = 0x0020 // DHKEM(X25519, HKDF-SHA256)
	hkdfSHA256ID  = 0x0001 // HKDF-SHA256
	hpkeModeBase  = 0x00   // mode_base
	hpkeNonceSize = 12     // Nn of every AEAD used here
)

// hpkeVersion is the version label of RFC 9180 §4.
const hpkeVersion = "HPKE-v1"

// kscSize is the size of key_schedule_context for base mode with
// HKDF-SHA256: mode || psk_id_hash || info_hash.
const kscSize = 1 + 2*sha256.Size

// sha256Schedule holds the constants of HPKE base mode with
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and one AEAD, computed once per
// suite: every label already carries its "HPKE-v1" || suite_id prefix
// (RFC 9180 §4), and psk_id_hash, which is the same for every base-mode
// context, is precomputed. Apart from the concurrency-safe cache it is
// immutable after construction.
type sha256Schedule struct {
	// KEM labels, with suite_id = "KEM" || I2OSP(kem_id, 2) (§4.1).
	eaePRK, sharedSecret, dkpPRK, sk []byte
	// Key-schedule labels, with suite_id = "HPKE" || kem_id || kdf_id ||
	// aead_id (§5.1).
	infoHash, secret, key, baseNonce, exp, sec []byte
	// pskIDHash is LabeledExtract("", "psk_id_hash", "") (§5.1).
	pskIDHash [sha256.Size]byte
	// nk is the AEAD key size.
	nk int
	// kscs caches key_schedule_context for the last info: the seals of
	// one commit's UpdatePath all use the same EncryptContext.
	kscs *kscCache
}

// newSHA256Schedule returns the constants for DHKEM(X25519, HKDF-SHA256)
// with HKDF-SHA256 and aead.
func newSHA256Schedule(aead aeadKind) *sha256Schedule {
	kemID := []byte{'K', 'E', 'M', x25519KEMID >> 8, x25519KEMID & 0xff}
	hpkeID := []byte{'H', 'P', 'K', 'E',
		x25519KEMID >> 8, x25519KEMID & 0xff,
		hkdfSHA256ID >> 8, hkdfSHA256ID & 0xff,
		byte(aead >> 8), byte(aead)}
	label := func(suiteID []byte, l string) []byte {
		out := make([]byte, 0, len(hpkeVersion)+len(suiteID)+len(l))
		out = append(out, hpkeVersion...)
		out = append(out, suiteID...)
		return append(out, l...)
	}
	return &sha256Schedule{
		eaePRK:       label(kemID, "eae_prk"),
		sharedSecret: label(kemID, "shared_secret"),
		dkpPRK:       label(kemID, "dkp_prk"),
		sk:           label(kemID, "sk"),
		infoHash:     label(hpkeID, "info_hash"),
		secret:       label(hpkeID, "secret"),
		key:          label(hpkeID, "key"),
		baseNonce:    label(hpkeID, "base_nonce"),
		exp:          label(hpkeID, "exp"),
		sec:          label(hpkeID, "sec"),
		pskIDHash:    labeledExtract(nil, label(hpkeID, "psk_id_hash"), nil),
		nk:           aead.keySize(),
		kscs:         &kscCache{},
	}
}

// labeledExtract is LabeledExtract(salt, label, ikm) of RFC 9180 §4 with
// HKDF-SHA256; label already carries the version and suite_id prefix.
func labeledExtract(salt, label, ikm []byte) [sha256.Size]byte {
	return hmacSHA256(salt, label, ikm)
}

// labeledExpandBlock is LabeledExpand(prk, label, info, length) of RFC
// 9180 §4 with HKDF-SHA256 for length ≤ 32: one HKDF-Expand block,
// T(1) = HMAC(prk, labeled_info || 0x01), of which the first length bytes
// are the output.
func labeledExpandBlock(prk, label, info []byte, length int) [sha256.Size]byte {
	return hmacSHA256(prk, []byte{byte(length >> 8), byte(length)}, label, info, []byte{1})
}

// labeledExpand is LabeledExpand(prk, label, info, length) of RFC 9180 §4
// with HKDF-SHA256 for any length up to 255·32.
func labeledExpand(prk, label, info []byte, length int) []byte {
	if length <= sha256.Size {
		out := labeledExpandBlock(prk, label, info, length)
		return append([]byte(nil), out[:length]...)
	}
	labeled := make([]byte, 0, 2+len(label)+len(info))
	labeled = append(labeled, byte(length>>8), byte(length))
	labeled = append(labeled, label...)
	labeled = append(labeled, info...)
	return hkdfExpand(sha256.New, prk, labeled, length)
}

// extractAndExpand is the DHKEM ExtractAndExpand(dh, kem_context) of RFC
// 9180 §4.1, returning the 32-byte shared secret.
func (s *sha256Schedule) extractAndExpand(dh, kemContext []byte) [sha256.Size]byte {
	prk := labeledExtract(nil, s.eaePRK, dh)
	return labeledExpandBlock(prk[:], s.sharedSecret, kemContext, sha256.Size)
}

// deriveSecret is DeriveKeyPair's private key derivation of RFC 9180
// §7.1.3 for X25519: LabeledExpand(LabeledExtract("", "dkp_prk", ikm),
// "sk", "", 32).
func (s *sha256Schedule) deriveSecret(ikm []byte) [x25519Size]byte {
	prk := labeledExtract(nil, s.dkpPRK, ikm)
	return labeledExpandBlock(prk[:], s.sk, nil, x25519Size)
}

// hpkeContext is the output of the base-mode key schedule: the AEAD key
// (its first nk bytes), the base nonce and, when asked for, the exporter
// secret.
type hpkeContext struct {
	key            [sha256.Size]byte
	baseNonce      [hpkeNonceSize]byte
	exporterSecret [sha256.Size]byte
}

// kscCacheMax is the longest info [kscCache] keeps, bounding the memory a
// Suite holds on to: an UpdatePath's EncryptContext (a GroupContext) is
// far smaller, a Welcome's (the encrypted GroupInfo with the ratchet
// tree) can be hundreds of kilobytes and is hashed each time.
const kscCacheMax = 16 << 10

// kscCache remembers key_schedule_context for the last info. Info is
// public (an encoded GroupContext in MLS), so it is compared with
// bytes.Equal rather than in constant time.
type kscCache struct {
	mu   sync.Mutex
	info []byte
	ksc  [kscSize]byte
}

// keyScheduleContext returns mode_base || psk_id_hash || info_hash for
// info (RFC 9180 §5.1), from the cache when info is the last one seen.
func (s *sha256Schedule) keyScheduleContext(info []byte) [kscSize]byte {
	c := s.kscs
	c.mu.Lock()
	if c.info != nil && bytes.Equal(c.info, info) {
		ksc := c.ksc
		c.mu.Unlock()
		return ksc
	}
	c.mu.Unlock()
	var ksc [kscSize]byte
	ksc[0] = hpkeModeBase
	copy(ksc[1:], s.pskIDHash[:])
	h := labeledExtract(nil, s.infoHash, info)
	copy(ksc[1+sha256.Size:], h[:])
	if len(info) > kscCacheMax {
		return ksc
	}
	c.mu.Lock()
	c.info = append(c.info[:0], info...)
	c.ksc = ksc
	c.mu.Unlock()
	return ksc
}

// keySchedule is KeySchedule(mode_base, shared_secret, info, "", "") of
// RFC 9180 §5.1. The exporter secret is derived only when withExporter is
// set: a single-shot Seal or Open does not need it.
func (s *sha256Schedule) keySchedule(sharedSecret, info []byte, withExporter bool) hpkeContext {
	ksc := s.keyScheduleContext(info)
	secret := labeledExtract(sharedSecret, s.secret, nil)
	var c hpkeContext
	c.key = labeledExpandBlock(secret[:], s.key, ksc[:], s.nk)
	nonce := labeledExpandBlock(secret[:], s.baseNonce, ksc[:], hpkeNonceSize)
	copy(c.baseNonce[:], nonce[:])
	if withExporter {
		c.exporterSecret = labeledExpandBlock(secret[:], s.exp, ksc[:], sha256.Size)
	}
	return c
}

// export is Context.Export(exporter_context, length) of RFC 9180 §5.3.
func (s *sha256Schedule) export(c *hpkeContext, exporterContext []byte, length int) []byte {
	return labeledExpand(c.exporterSecret[:], s.sec, exporterContext, length)
}
