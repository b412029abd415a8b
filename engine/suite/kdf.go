package suite

import (
	"crypto/hkdf"
	"crypto/hmac"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// labelPrefix is prepended to every label of ExpandWithLabel, SignWithLabel
// and EncryptWithLabel (RFC 9420 §5.1.2, §5.1.3, §8).
const labelPrefix = "MLS 1.0 "

// Nh returns the output size of the suite's hash (and KDF) in bytes.
func (s *Suite) Nh() int { return s.nh }

// Hash returns the suite hash of the concatenation of data.
func (s *Suite) Hash(data ...[]byte) []byte {
	h := s.newHash()
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(make([]byte, 0, s.nh))
}

// MAC returns HMAC(key, data) with the suite hash (RFC 9420 §5.2); data
// is the concatenation of its parts.
func (s *Suite) MAC(key []byte, data ...[]byte) []byte {
	m := hmac.New(s.newHash, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(make([]byte, 0, s.nh))
}

// VerifyMAC reports, in constant time, whether tag equals MAC(key, data).
func (s *Suite) VerifyMAC(key, data, tag []byte) bool {
	return hmac.Equal(s.MAC(key, data), tag)
}

// Extract is HKDF-Extract(salt, ikm) with the suite hash (RFC 5869), by
// crypto/hkdf. A nil or empty salt behaves as a string of Nh zero bytes.
func (s *Suite) Extract(salt, ikm []byte) []byte {
	prk, err := hkdf.Extract(s.newHash, ikm, salt)
	if err != nil {
		// crypto/hkdf fails only in FIPS 140-only mode, on an ikm shorter
		// than 112 bits, which the engine never passes (see CheckSecret).
		panic("suite: " + err.Error())
	}
	return prk
}

// MaxExpand is the largest output length [Suite.Expand] supports: 255·Nh.
func (s *Suite) MaxExpand() int { return 255 * s.nh }

// Expand is HKDF-Expand(prk, info, n) with the suite hash (RFC 5869), by
// crypto/hkdf. It panics if n is negative or larger than
// [Suite.MaxExpand]; callers that take n from untrusted input must check
// it first.
func (s *Suite) Expand(prk, info []byte, n int) []byte {
	if n < 0 || n > s.MaxExpand() {
		panic("suite: Expand length out of range")
	}
	out, err := hkdf.Expand(s.newHash, prk, string(info), n)
	if err != nil {
		// As in Extract: only a prk shorter than 112 bits in FIPS 140-only
		// mode, which the engine never passes.
		panic("suite: " + err.Error())
	}
	return out
}

// ExpandWithLabel is RFC 9420 §8 ExpandWithLabel: HKDF-Expand of secret with
// the serialized KDFLabel {length, "MLS 1.0 "+label, context}. length must
// be at most [Suite.MaxExpand] (it panics otherwise, like [Suite.Expand]).
func (s *Suite) ExpandWithLabel(secret []byte, label string, context []byte, length int) []byte {
	// Every secret-tree and sender-data derivation goes through here: the
	// KDFLabel is built on the stack when it fits (Expand copies it into
	// the string crypto/hkdf takes).
	var stack [128]byte
	return s.Expand(secret, appendKDFLabel(stack[:0], label, context, length), length)
}

// appendKDFLabel appends the serialized KDFLabel {length, "MLS 1.0 " +
// label, context} of RFC 9420 §8 to dst.
func appendKDFLabel(dst []byte, label string, context []byte, length int) []byte {
	dst = append(dst, byte(length>>8), byte(length))
	dst = appendVarint(dst, len(labelPrefix)+len(label))
	dst = append(append(dst, labelPrefix...), label...)
	dst = appendVarint(dst, len(context))
	return append(dst, context...)
}

// appendVarint appends n as a minimal variable-length integer (RFC 9420
// §2.1.2), as [codec.Writer.Varint] does; unlike it, it lets a stack
// buffer stay on the stack.
func appendVarint(dst []byte, n int) []byte {
	switch {
	case n < 0 || n > codec.MaxVarint:
		panic("suite: varint out of range") // no MLS value is that long
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return append(dst, byte(n>>8)|0x40, byte(n))
	default:
		return append(dst, byte(n>>24)|0x80, byte(n>>16), byte(n>>8), byte(n))
	}
}

// DeriveSecret is ExpandWithLabel(secret, label, "", Nh) (RFC 9420 §8).
func (s *Suite) DeriveSecret(secret []byte, label string) []byte {
	return s.ExpandWithLabel(secret, label, nil, s.nh)
}

// DeriveTreeSecret is ExpandWithLabel(secret, label, generation, length) with
// generation encoded as uint32 (RFC 9420 §9).
func (s *Suite) DeriveTreeSecret(secret []byte, label string, generation uint32, length int) []byte {
	g := []byte{byte(generation >> 24), byte(generation >> 16), byte(generation >> 8), byte(generation)}
	return s.ExpandWithLabel(secret, label, g, length)
}

// RefHash is Hash(RefHashInput{label, value}) (RFC 9420 §5.2). The label is
// used as given (for example "MLS 1.0 KeyPackage Reference").
func (s *Suite) RefHash(label string, value []byte) []byte {
	w := codec.NewWriter(make([]byte, 0, 8+len(label)+len(value)))
	w.Opaque([]byte(label))
	w.Opaque(value)
	return s.Hash(w.Bytes())
}
