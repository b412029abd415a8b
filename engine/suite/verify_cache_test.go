package suite

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
)

// countingSigner counts the verifications its signer runs.
type countingSigner struct {
	signer
	n *atomic.Int32
}

func (c countingSigner) verify(pub, msg, sig []byte) error {
	c.n.Add(1)
	return c.signer.verify(pub, msg, sig)
}

// TestVerifyCacheOnlyAfterSuccess checks, for every suite, that
// VerifyWithLabel runs the signature scheme once for a signature verified
// twice, every time for one that fails (failures are never remembered),
// and again for any change of key, label, content or signature.
func TestVerifyCacheOnlyAfterSuccess(t *testing.T) {
	for _, s := range mustSuites(t) {
		var n atomic.Int32
		s.sig = countingSigner{s.sig, &n}
		priv, pub, err := s.GenerateSignatureKey()
		if err != nil {
			t.Fatal(err)
		}
		_, otherPub, err := s.GenerateSignatureKey()
		if err != nil {
			t.Fatal(err)
		}
		content := []byte("KeyPackageTBS bytes")
		sig, err := s.SignWithLabel(priv, "KeyPackageTBS", content)
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(sig)
		bad[len(bad)-1] ^= 1
		for i := range 2 {
			if err := s.VerifyWithLabel(pub, "KeyPackageTBS", content, bad); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("%v: bad signature, try %d: %v", s, i, err)
			}
		}
		if got := n.Load(); got != 2 || s.verified.len() != 0 {
			t.Fatalf("%v: two failures ran the scheme %d times and left %d entries", s, got, s.verified.len())
		}
		for i := range 3 {
			if err := s.VerifyWithLabel(pub, "KeyPackageTBS", content, sig); err != nil {
				t.Fatalf("%v: good signature, try %d: %v", s, i, err)
			}
		}
		if got := n.Load(); got != 3 {
			t.Fatalf("%v: three verifications of one good signature ran the scheme %d times, want 1", s, got-2)
		}
		for name, try := range map[string]func() error{
			"other key":     func() error { return s.VerifyWithLabel(otherPub, "KeyPackageTBS", content, sig) },
			"other label":   func() error { return s.VerifyWithLabel(pub, "LeafNodeTBS", content, sig) },
			"other content": func() error { return s.VerifyWithLabel(pub, "KeyPackageTBS", append(content, 0), sig) },
			"other sig":     func() error { return s.VerifyWithLabel(pub, "KeyPackageTBS", content, bad) },
		} {
			before := n.Load()
			if err := try(); err == nil {
				t.Errorf("%v: %s verifies", s, name)
			}
			if n.Load() != before+1 {
				t.Errorf("%v: %s did not run the scheme", s, name)
			}
		}
	}
}

// TestVerifyCacheBounded checks that the cache keeps at most verifiedCap
// entries, forgetting the oldest first.
func TestVerifyCacheBounded(t *testing.T) {
	v := newVerified()
	key := func(i int) [32]byte { return verifiedKey([]byte{byte(i), byte(i >> 8)}, []byte("m"), nil) }
	for i := range verifiedCap + 10 {
		v.add(key(i))
	}
	if v.len() != verifiedCap {
		t.Fatalf("%d entries, want %d", v.len(), verifiedCap)
	}
	if v.has(key(9)) || !v.has(key(10)) || !v.has(key(verifiedCap+9)) {
		t.Fatal("the oldest entries did not go first")
	}
}
