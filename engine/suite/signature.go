package suite

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// signer is a suite's signature scheme over raw messages.
type signer interface {
	generate() (priv, pub []byte, err error)
	public(priv []byte) ([]byte, error)
	// sign signs the concatenation of msg.
	sign(priv []byte, msg ...[]byte) ([]byte, error)
	verify(pub, msg, sig []byte) error
}

// signContent serializes SignContent (RFC 9420 §5.1.2).
func signContent(label string, content []byte) []byte {
	return append(signContentHeader(label, len(content), len(content)), content...)
}

// signContentHeader serializes SignContent up to its content: the label
// and the content's length prefix, with room for spare more bytes.
func signContentHeader(label string, contentLen, spare int) []byte {
	return appendSignContentHeader(make([]byte, 0, 12+len(labelPrefix)+len(label)+spare), label, contentLen)
}

// appendSignContentHeader appends SignContent up to its content to dst.
func appendSignContentHeader(dst []byte, label string, contentLen int) []byte {
	w := codec.NewWriter(dst)
	w.Varint(len(labelPrefix) + len(label))
	w.Raw([]byte(labelPrefix))
	w.Raw([]byte(label))
	w.Varint(contentLen)
	return w.Bytes()
}

// SignContentRoom returns how many bytes [Suite.VerifyWithLabelInPlace]
// needs in front of the content to write SignContent's header for label:
// the label with its length prefix and the longest length prefix of the
// content.
func SignContentRoom(label string) int {
	n := len(labelPrefix) + len(label)
	return codec.VarintLen(n) + n + 4
}

// GenerateSignatureKey returns a fresh signature key pair in the suite's
// encodings (see the package documentation).
func (s *Suite) GenerateSignatureKey() (priv, pub []byte, err error) {
	priv, pub, err = s.sig.generate()
	if err != nil {
		return nil, nil, fmt.Errorf("generate signature key: %w", err)
	}
	return priv, pub, nil
}

// SignaturePublicKey returns the public key of a signature private key.
func (s *Suite) SignaturePublicKey(priv []byte) ([]byte, error) {
	pub, err := s.sig.public(priv)
	if err != nil {
		return nil, fmt.Errorf("signature public key: %w", err)
	}
	return pub, nil
}

// SignWithLabel signs SignContent{"MLS 1.0 "+label, content} (RFC 9420
// §5.1.2).
func (s *Suite) SignWithLabel(priv []byte, label string, content []byte) ([]byte, error) {
	sig, err := s.sig.sign(priv, signContentHeader(label, len(content), 0), content)
	if err != nil {
		return nil, fmt.Errorf("sign with label %q: %w", label, err)
	}
	return sig, nil
}

// VerifyWithLabel verifies sig over SignContent{"MLS 1.0 "+label, content}
// with pub. A signature that does not verify returns an error wrapping
// [ErrBadSignature]; a malformed key one wrapping [ErrInvalidKey]. The
// Suite remembers the last 4096 signatures that verified and accepts an
// exact repeat (same key, label, content and signature) without running
// the scheme again; a failure is never remembered.
func (s *Suite) VerifyWithLabel(pub []byte, label string, content, sig []byte) error {
	return s.verifySignContent(pub, label, signContent(label, content), sig)
}

// VerifyWithLabelInPlace is [Suite.VerifyWithLabel] for a content stored
// at buf[SignContentRoom(label):]: it writes SignContent's header into the
// room in front of the content (overwriting those bytes) instead of
// copying the content behind a header, which a large content such as a
// commit with its path would cost.
func (s *Suite) VerifyWithLabelInPlace(pub []byte, label string, buf, sig []byte) error {
	room := SignContentRoom(label)
	if len(buf) < room {
		return fmt.Errorf("verify with label %q: buffer of %d bytes shorter than its room of %d", label, len(buf), room)
	}
	var a [64]byte
	h := appendSignContentHeader(a[:0], label, len(buf)-room)
	start := room - len(h)
	copy(buf[start:room], h)
	return s.verifySignContent(pub, label, buf[start:], sig)
}

// verifySignContent verifies sig over msg, the SignContent of label, with
// pub, through the cache of successful verifications.
func (s *Suite) verifySignContent(pub []byte, label string, msg, sig []byte) error {
	k := verifiedKey(pub, msg, sig)
	if s.verified.has(k) {
		return nil
	}
	if err := s.sig.verify(pub, msg, sig); err != nil {
		return fmt.Errorf("verify with label %q: %w", label, err)
	}
	s.verified.add(k)
	return nil
}
