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
		if got, want := k.sign(parts...), ed25519.Sign(std, msg); !bytes.Equal(got, want) {
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
