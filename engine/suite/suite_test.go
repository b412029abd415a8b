package suite

import (
	"bytes"
	"errors"
	"testing"
)

func mustSuites(t testing.TB) []*Suite {
	t.Helper()
	var out []*Suite
	for _, id := range All() {
		s, err := New(id)
		if err != nil {
			t.Fatalf("New(%v): %v", id, err)
		}
		out = append(out, s)
	}
	return out
}

func TestNewUnsupported(t *testing.T) {
	for _, id := range []ID{0, 8, 0xffff} {
		if _, err := New(id); !errors.Is(err, ErrUnsupported) {
			t.Errorf("New(%v) error = %v, want ErrUnsupported", id, err)
		}
	}
}

func TestSizes(t *testing.T) {
	want := map[ID][3]int{ // Nh, Nk, Nn
		X25519AES128GCMSHA256Ed25519:        {32, 16, 12},
		P256AES128GCMSHA256P256:             {32, 16, 12},
		X25519ChaCha20Poly1305SHA256Ed25519: {32, 32, 12},
		X448AES256GCMSHA512Ed448:            {64, 32, 12},
		P521AES256GCMSHA512P521:             {64, 32, 12},
		X448ChaCha20Poly1305SHA512Ed448:     {64, 32, 12},
		P384AES256GCMSHA384P384:             {48, 32, 12},
	}
	for _, s := range mustSuites(t) {
		got := [3]int{s.Nh(), s.KeySize(), s.NonceSize()}
		if got != want[s.ID()] {
			t.Errorf("%v sizes = %v, want %v", s, got, want[s.ID()])
		}
		if h := s.Hash([]byte("x")); len(h) != s.Nh() {
			t.Errorf("%v Hash length = %d, want %d", s, len(h), s.Nh())
		}
	}
}

func TestAEADRoundTrip(t *testing.T) {
	for _, s := range mustSuites(t) {
		t.Run(s.String(), func(t *testing.T) {
			key := bytes.Repeat([]byte{7}, s.KeySize())
			nonce := bytes.Repeat([]byte{9}, s.NonceSize())
			ct, err := s.Seal(key, nonce, []byte("aad"), []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			pt, err := s.Open(key, nonce, []byte("aad"), ct)
			if err != nil || string(pt) != "hello" {
				t.Fatalf("Open = %q, %v; want hello", pt, err)
			}
			ct[0] ^= 1
			if _, err := s.Open(key, nonce, []byte("aad"), ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("Open(tampered) = %v, want ErrDecrypt", err)
			}
			if _, err := s.Seal(key[1:], nonce, nil, nil); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Seal(short key) = %v, want ErrInvalidKey", err)
			}
			if _, err := s.Open(key, nonce[1:], nil, ct); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Open(short nonce) = %v, want ErrInvalidKey", err)
			}
		})
	}
}

func TestHPKERoundTrip(t *testing.T) {
	for _, s := range mustSuites(t) {
		t.Run(s.String(), func(t *testing.T) {
			priv, pub, err := s.GenerateKeyPair()
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.PublicKeyFromPrivate(priv); err != nil || !bytes.Equal(got, pub) {
				t.Fatalf("PublicKeyFromPrivate = %x, %v; want %x", got, err, pub)
			}
			kemOut, ct, err := s.EncryptWithLabel(pub, "UpdatePathNode", []byte("ctx"), []byte("secret"))
			if err != nil {
				t.Fatal(err)
			}
			pt, err := s.DecryptWithLabel(priv, "UpdatePathNode", []byte("ctx"), kemOut, ct)
			if err != nil || string(pt) != "secret" {
				t.Fatalf("DecryptWithLabel = %q, %v; want secret", pt, err)
			}
			if _, err := s.DecryptWithLabel(priv, "Welcome", []byte("ctx"), kemOut, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("DecryptWithLabel(wrong label) = %v, want ErrDecrypt", err)
			}
			if _, err := s.DecryptWithLabel(priv, "UpdatePathNode", []byte("ctx"), kemOut[:len(kemOut)-1], ct); err == nil {
				t.Error("DecryptWithLabel(short kem output) succeeded")
			}

			enc, secret, err := s.ExportSender(pub, nil, []byte("MLS 1.0 external init secret"), s.Nh())
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.ExportReceiver(priv, enc, nil, []byte("MLS 1.0 external init secret"), s.Nh())
			if err != nil || !bytes.Equal(got, secret) || len(secret) != s.Nh() {
				t.Fatalf("ExportReceiver = %x, %v; want %x", got, err, secret)
			}
			if _, _, err := s.ExportSender(pub, nil, nil, s.MaxExpand()+1); !errors.Is(err, ErrLength) {
				t.Errorf("ExportSender(too long) = %v, want ErrLength", err)
			}
		})
	}
}

func TestDeriveKeyPairDeterministic(t *testing.T) {
	for _, s := range mustSuites(t) {
		ikm := bytes.Repeat([]byte{0x42}, s.Nh())
		p1, q1, err := s.DeriveKeyPair(ikm)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		p2, q2, err := s.DeriveKeyPair(ikm)
		if err != nil || !bytes.Equal(p1, p2) || !bytes.Equal(q1, q2) {
			t.Errorf("%v: DeriveKeyPair not deterministic", s)
		}
		if got, err := s.PublicKeyFromPrivate(p1); err != nil || !bytes.Equal(got, q1) {
			t.Errorf("%v: PublicKeyFromPrivate(derived) = %x, %v; want %x", s, got, err, q1)
		}
		p3, _, err := s.DeriveKeyPair(append(ikm, 1))
		if err != nil || bytes.Equal(p1, p3) {
			t.Errorf("%v: different ikm gave the same key (err %v)", s, err)
		}
	}
}

func TestInvalidPublicKeys(t *testing.T) {
	for _, s := range mustSuites(t) {
		_, pub, err := s.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		bad := map[string][]byte{
			"empty":   nil,
			"short":   pub[:len(pub)-1],
			"long":    append(bytes.Clone(pub), 0),
			"allzero": make([]byte, len(pub)),
		}
		if pub[0] == 4 && len(pub)%2 == 1 { // uncompressed NIST point
			bad["notOnCurve"] = append([]byte{4}, bytes.Repeat([]byte{0xff}, len(pub)-1)...)
		}
		for name, b := range bad {
			err := s.ValidatePublicKey(b)
			if err == nil {
				_, _, err = s.EncryptWithLabel(b, "x", nil, nil)
			}
			if err == nil {
				t.Errorf("%v: public key %s accepted", s, name)
			}
		}
	}
}

func TestSignatureRoundTrip(t *testing.T) {
	for _, s := range mustSuites(t) {
		t.Run(s.String(), func(t *testing.T) {
			priv, pub, err := s.GenerateSignatureKey()
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.SignaturePublicKey(priv); err != nil || !bytes.Equal(got, pub) {
				t.Fatalf("SignaturePublicKey = %x, %v; want %x", got, err, pub)
			}
			sig, err := s.SignWithLabel(priv, "LeafNodeTBS", []byte("content"))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.VerifyWithLabel(pub, "LeafNodeTBS", []byte("content"), sig); err != nil {
				t.Fatalf("VerifyWithLabel: %v", err)
			}
			if err := s.VerifyWithLabel(pub, "LeafNodeTBS", []byte("contenT"), sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifyWithLabel(other content) = %v, want ErrBadSignature", err)
			}
			if err := s.VerifyWithLabel(pub, "LeafNodeTBS", []byte("content"), sig[:len(sig)-1]); !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifyWithLabel(short sig) = %v, want ErrBadSignature", err)
			}
			if err := s.VerifyWithLabel(pub[:len(pub)-1], "LeafNodeTBS", []byte("content"), sig); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("VerifyWithLabel(short key) = %v, want ErrInvalidKey", err)
			}
			if _, err := s.SignWithLabel(append(bytes.Clone(priv), 1), "x", nil); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("SignWithLabel(long key) = %v, want ErrInvalidKey", err)
			}
		})
	}
}

func TestExpandLengths(t *testing.T) {
	s, err := New(X25519AES128GCMSHA256Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	prk := s.Extract(nil, []byte("ikm"))
	full := s.Expand(prk, []byte("info"), 100)
	for _, n := range []int{0, 1, 31, 32, 33, 64, 99} {
		if got := s.Expand(prk, []byte("info"), n); !bytes.Equal(got, full[:n]) {
			t.Errorf("Expand(%d) is not a prefix of Expand(100)", n)
		}
	}
	if s.MaxExpand() != 255*32 {
		t.Errorf("MaxExpand = %d, want %d", s.MaxExpand(), 255*32)
	}
	if !s.VerifyMAC([]byte("k"), []byte("d"), s.MAC([]byte("k"), []byte("d"))) {
		t.Error("VerifyMAC rejected a good tag")
	}
	if s.VerifyMAC([]byte("k"), []byte("e"), s.MAC([]byte("k"), []byte("d"))) {
		t.Error("VerifyMAC accepted a bad tag")
	}
}

// TestShortNISTScalars checks that private keys with leading zero bytes
// dropped (as in some interop vectors) work for HPKE and ECDSA.
func TestShortNISTScalars(t *testing.T) {
	for _, id := range []ID{P256AES128GCMSHA256P256, P384AES256GCMSHA384P384, P521AES256GCMSHA512P521} {
		s, err := New(id)
		if err != nil {
			t.Fatal(err)
		}
		// Find derived keys whose first byte is zero, then strip it.
		var priv, pub []byte
		for i := 0; priv == nil && i < 2000; i++ {
			p, q, err := s.DeriveKeyPair([]byte{byte(i), byte(i >> 8)})
			if err != nil {
				t.Fatal(err)
			}
			if p[0] == 0 {
				priv, pub = p[1:], q
			}
		}
		if priv == nil {
			t.Fatalf("%v: no derived key with a leading zero byte", s)
		}
		kemOut, ct, err := s.EncryptWithLabel(pub, "l", nil, []byte("pt"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := s.DecryptWithLabel(priv, "l", nil, kemOut, ct); err != nil || string(pt) != "pt" {
			t.Errorf("%v: DecryptWithLabel with a short scalar = %q, %v", s, pt, err)
		}
		if got, err := s.PublicKeyFromPrivate(priv); err != nil || !bytes.Equal(got, pub) {
			t.Errorf("%v: PublicKeyFromPrivate(short scalar) = %x, %v; want %x", s, got, err, pub)
		}
		sig, err := s.SignWithLabel(priv, "l", []byte("c"))
		if err != nil {
			t.Fatal(err)
		}
		sigPub, err := s.SignaturePublicKey(priv)
		if err != nil || !bytes.Equal(sigPub, pub) {
			t.Errorf("%v: SignaturePublicKey(short scalar) = %x, %v; want %x", s, sigPub, err, pub)
		}
		if err := s.VerifyWithLabel(sigPub, "l", []byte("c"), sig); err != nil {
			t.Errorf("%v: signature with a short scalar: %v", s, err)
		}
	}
}

// TestConcurrentUse exercises one Suite from several goroutines (run with
// -race): signing with alternating keys hits the parsed-key cache.
func TestConcurrentUse(t *testing.T) {
	for _, s := range mustSuites(t) {
		keys := make([][2][]byte, 2)
		for i := range keys {
			priv, pub, err := s.GenerateSignatureKey()
			if err != nil {
				t.Fatal(err)
			}
			keys[i] = [2][]byte{priv, pub}
		}
		errs := make(chan error, 8)
		for g := range 8 {
			go func() {
				k := keys[g%2]
				for range 5 {
					sig, err := s.SignWithLabel(k[0], "c", []byte{byte(g)})
					if err == nil {
						err = s.VerifyWithLabel(k[1], "c", []byte{byte(g)}, sig)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Errorf("%v: concurrent sign/verify: %v", s, err)
			}
		}
	}
}
