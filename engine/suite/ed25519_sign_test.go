package suite

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
)

// TestEd25519SignMatchesStdlib checks that the streaming signer returns
// crypto/ed25519.Sign's bytes for random seeds and messages cut into
// random parts, and its public key.
func TestEd25519SignMatchesStdlib(t *testing.T) {
	bc := newCurve().newBaseComb()
	rng := mrand.New(mrand.NewPCG(3, 4))
	for i := range 300 {
		seed := make([]byte, ed25519.SeedSize)
		rand.Read(seed)
		msg := make([]byte, rng.IntN(600))
		rand.Read(msg)
		var parts [][]byte
		for rest := msg; ; {
			n := rng.IntN(len(rest) + 1)
			parts = append(parts, rest[:n])
			if rest = rest[n:]; len(rest) == 0 {
				break
			}
		}
		k, err := parseEd25519(seed)
		if err != nil {
			t.Fatal(err)
		}
		std := ed25519.NewKeyFromSeed(seed)
		if got, want := k.pub[:], []byte(std.Public().(ed25519.PublicKey)); !bytes.Equal(got, want) {
			t.Fatalf("case %d: public key %x, want %x", i, got, want)
		}
		if got, want := k.sign(bc, parts...), ed25519.Sign(std, msg); !bytes.Equal(got, want) {
			t.Fatalf("case %d (%d parts): signature %x, want %x", i, len(parts), got, want)
		}
	}
	if _, err := parseEd25519(make([]byte, 31)); err == nil {
		t.Error("31-byte seed accepted")
	}
}

// TestSignWithLabelParts checks that every suite's SignWithLabel, which
// hashes the SignContent header and the content as separate parts, signs
// exactly SignContent: VerifyWithLabel and, for Ed25519, crypto/ed25519
// over signContent accept it.
func TestSignWithLabelParts(t *testing.T) {
	for _, s := range mustSuites(t) {
		priv, pub, err := s.GenerateSignatureKey()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 63, 64, 200, 16385, 70000} {
			content := bytes.Repeat([]byte{byte(n)}, n)
			sig, err := s.SignWithLabel(priv, "GroupInfoTBS", content)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.VerifyWithLabel(pub, "GroupInfoTBS", content, sig); err != nil {
				t.Fatalf("%v, %d bytes: %v", s, n, err)
			}
			if s.ID() == X25519AES128GCMSHA256Ed25519 && !ed25519.Verify(pub, signContent("GroupInfoTBS", content), sig) {
				t.Fatalf("%v, %d bytes: crypto/ed25519 rejects the signature", s, n)
			}
			if got := append(signContentHeader("GroupInfoTBS", n, 0), content...); !bytes.Equal(got, signContent("GroupInfoTBS", content)) {
				t.Fatalf("%d bytes: header and content differ from signContent", n)
			}
		}
	}
}

// TestEd25519SignLongMessages checks the digest nonce of long messages:
// up to digestNonceMin-1 bytes the signature is crypto/ed25519's; from
// digestNonceMin on it is a different signature that crypto/ed25519
// accepts, the same however the message is cut into parts and on every
// call, and messages differing in one byte get different nonces (R).
func TestEd25519SignLongMessages(t *testing.T) {
	bc := newCurve().newBaseComb()
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	k, err := parseEd25519(seed)
	if err != nil {
		t.Fatal(err)
	}
	std := ed25519.NewKeyFromSeed(seed)
	for _, n := range []int{digestNonceMin - 1, digestNonceMin, digestNonceMin + 1, 300_000} {
		msg := make([]byte, n)
		rand.Read(msg)
		sig := k.sign(bc, msg)
		if !ed25519.Verify(std.Public().(ed25519.PublicKey), msg, sig) {
			t.Fatalf("%d bytes: crypto/ed25519 rejects the signature", n)
		}
		if got := bytes.Equal(sig, ed25519.Sign(std, msg)); got != (n < digestNonceMin) {
			t.Fatalf("%d bytes: same as crypto/ed25519 = %v, want %v", n, got, n < digestNonceMin)
		}
		cut := n / 3
		if again := k.sign(bc, msg[:cut], nil, msg[cut:]); !bytes.Equal(again, sig) {
			t.Fatalf("%d bytes: signature depends on how the message is cut", n)
		}
		msg[n/2] ^= 1
		if other := k.sign(bc, msg); bytes.Equal(other[:32], sig[:32]) {
			t.Fatalf("%d bytes: a different message got the same nonce", n)
		}
	}
	if bytes.Equal(k.digestPrefix[:], k.prefix[:]) {
		t.Fatal("digest nonce prefix equals the RFC 8032 prefix")
	}
}
