package suite

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

type cryptoBasicsCase struct {
	CipherSuite ID `json:"cipher_suite"`
	RefHash     struct {
		Label string      `json:"label"`
		Value vectors.Hex `json:"value"`
		Out   vectors.Hex `json:"out"`
	} `json:"ref_hash"`
	ExpandWithLabel struct {
		Secret  vectors.Hex `json:"secret"`
		Label   string      `json:"label"`
		Context vectors.Hex `json:"context"`
		Length  int         `json:"length"`
		Out     vectors.Hex `json:"out"`
	} `json:"expand_with_label"`
	DeriveSecret struct {
		Secret vectors.Hex `json:"secret"`
		Label  string      `json:"label"`
		Out    vectors.Hex `json:"out"`
	} `json:"derive_secret"`
	DeriveTreeSecret struct {
		Secret     vectors.Hex `json:"secret"`
		Label      string      `json:"label"`
		Generation uint32      `json:"generation"`
		Length     int         `json:"length"`
		Out        vectors.Hex `json:"out"`
	} `json:"derive_tree_secret"`
	SignWithLabel struct {
		Priv      vectors.Hex `json:"priv"`
		Pub       vectors.Hex `json:"pub"`
		Content   vectors.Hex `json:"content"`
		Label     string      `json:"label"`
		Signature vectors.Hex `json:"signature"`
	} `json:"sign_with_label"`
	EncryptWithLabel struct {
		Priv       vectors.Hex `json:"priv"`
		Pub        vectors.Hex `json:"pub"`
		Label      string      `json:"label"`
		Context    vectors.Hex `json:"context"`
		Plaintext  vectors.Hex `json:"plaintext"`
		KEMOutput  vectors.Hex `json:"kem_output"`
		Ciphertext vectors.Hex `json:"ciphertext"`
	} `json:"encrypt_with_label"`
}

// TestCryptoBasicsVectors checks every case of crypto-basics.json.
func TestCryptoBasicsVectors(t *testing.T) {
	var cases []cryptoBasicsCase
	if err := vectors.Load("crypto-basics", &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("crypto-basics: no cases")
	}
	passed := 0
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d/%v", i, c.CipherSuite), func(t *testing.T) {
			s, err := New(c.CipherSuite)
			if err != nil {
				t.Fatal(err)
			}
			checkCryptoBasics(t, s, &c)
			if !t.Failed() {
				passed++
			}
		})
	}
	t.Logf("crypto-basics: %d/%d cases passed", passed, len(cases))
}

func checkCryptoBasics(t *testing.T, s *Suite, c *cryptoBasicsCase) {
	t.Helper()
	if got := s.RefHash(c.RefHash.Label, c.RefHash.Value); !bytes.Equal(got, c.RefHash.Out) {
		t.Errorf("RefHash = %x, want %x", got, c.RefHash.Out)
	}
	e := c.ExpandWithLabel
	if got := s.ExpandWithLabel(e.Secret, e.Label, e.Context, e.Length); !bytes.Equal(got, e.Out) {
		t.Errorf("ExpandWithLabel = %x, want %x", got, e.Out)
	}
	d := c.DeriveSecret
	if got := s.DeriveSecret(d.Secret, d.Label); !bytes.Equal(got, d.Out) {
		t.Errorf("DeriveSecret = %x, want %x", got, d.Out)
	}
	dt := c.DeriveTreeSecret
	if got := s.DeriveTreeSecret(dt.Secret, dt.Label, dt.Generation, dt.Length); !bytes.Equal(got, dt.Out) {
		t.Errorf("DeriveTreeSecret = %x, want %x", got, dt.Out)
	}

	sg := c.SignWithLabel
	if err := s.VerifyWithLabel(sg.Pub, sg.Label, sg.Content, sg.Signature); err != nil {
		t.Errorf("VerifyWithLabel(vector signature): %v", err)
	}
	sig, err := s.SignWithLabel(sg.Priv, sg.Label, sg.Content)
	if err != nil {
		t.Fatalf("SignWithLabel: %v", err)
	}
	if err := s.VerifyWithLabel(sg.Pub, sg.Label, sg.Content, sig); err != nil {
		t.Errorf("VerifyWithLabel(own signature): %v", err)
	}
	if pub, err := s.SignaturePublicKey(sg.Priv); err != nil || !bytes.Equal(pub, sg.Pub) {
		t.Errorf("SignaturePublicKey = %x, %v; want %x", pub, err, sg.Pub)
	}
	if err := s.VerifyWithLabel(sg.Pub, sg.Label+"x", sg.Content, sg.Signature); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyWithLabel(wrong label) = %v, want ErrBadSignature", err)
	}

	ew := c.EncryptWithLabel
	pt, err := s.DecryptWithLabel(ew.Priv, ew.Label, ew.Context, ew.KEMOutput, ew.Ciphertext)
	if err != nil || !bytes.Equal(pt, ew.Plaintext) {
		t.Errorf("DecryptWithLabel(vector) = %x, %v; want %x", pt, err, ew.Plaintext)
	}
	kemOut, ct, err := s.EncryptWithLabel(ew.Pub, ew.Label, ew.Context, ew.Plaintext)
	if err != nil {
		t.Fatalf("EncryptWithLabel: %v", err)
	}
	pt, err = s.DecryptWithLabel(ew.Priv, ew.Label, ew.Context, kemOut, ct)
	if err != nil || !bytes.Equal(pt, ew.Plaintext) {
		t.Errorf("DecryptWithLabel(own) = %x, %v; want %x", pt, err, ew.Plaintext)
	}
	if pub, err := s.PublicKeyFromPrivate(ew.Priv); err != nil || !bytes.Equal(pub, ew.Pub) {
		t.Errorf("PublicKeyFromPrivate = %x, %v; want %x", pub, err, ew.Pub)
	}
}
