package suite

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"
)

// x25519AEADs are the AEADs of the MLS suites with DHKEM(X25519): suite 1
// (AES-128-GCM) and suite 3 (ChaCha20Poly1305).
var x25519AEADs = []aeadKind{aesGCM128, chacha20Poly1305}

func randomLen(t testing.TB, r *mrand.Rand, max int) []byte {
	t.Helper()
	b := make([]byte, r.IntN(max+1))
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestX25519HPKECrossCheck uses crypto/hpke (through stdKEM) as the
// oracle: what our HPKE seals or exports, crypto/hpke opens or exports
// identically, and the other way round, for random keys, infos, aads,
// plaintexts and export lengths. Derived key pairs must be the same.
func TestX25519HPKECrossCheck(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, a := range x25519AEADs {
		t.Run(fmt.Sprintf("aead-%d", a), func(t *testing.T) {
			ours, std := newX25519KEM(a, newBaseCombOnce()), newStdKEM(kemX25519, a)
			for i := range 200 {
				gen := []kem{ours, std}[i%2]
				priv, pub, err := gen.generate()
				if err != nil {
					t.Fatal(err)
				}
				for name, k := range map[string]kem{"ours": ours, "std": std} {
					if got, err := k.publicFromPrivate(priv); err != nil || !bytes.Equal(got, pub) {
						t.Fatalf("%s publicFromPrivate = %x, %v; want %x", name, got, err, pub)
					}
				}
				info, aad, pt := randomLen(t, r, 300), randomLen(t, r, 64), randomLen(t, r, 100)
				for _, dir := range []struct {
					name         string
					sealer, opnr kem
				}{{"ours→std", ours, std}, {"std→ours", std, ours}} {
					enc, ct, err := dir.sealer.seal(pub, info, aad, pt)
					if err != nil {
						t.Fatalf("%s seal: %v", dir.name, err)
					}
					got, err := dir.opnr.open(priv, enc, info, aad, ct)
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("%s open = %x, %v; want %x", dir.name, got, err, pt)
					}
					ctx := randomLen(t, r, 40)
					length := 1 + r.IntN(100)
					enc, secret, err := dir.sealer.exportSender(pub, info, ctx, length)
					if err != nil {
						t.Fatalf("%s exportSender: %v", dir.name, err)
					}
					got, err = dir.opnr.exportReceiver(priv, enc, info, ctx, length)
					if err != nil || !bytes.Equal(got, secret) || len(secret) != length {
						t.Fatalf("%s exportReceiver(%d) = %x, %v; want %x", dir.name, length, got, err, secret)
					}
				}
				ikm := randomLen(t, r, 80)
				p1, q1, err1 := ours.derive(ikm)
				p2, q2, err2 := std.derive(ikm)
				if err1 != nil || err2 != nil || !bytes.Equal(p1, p2) || !bytes.Equal(q1, q2) {
					t.Fatalf("derive(%x) = %x %x %v, crypto/hpke %x %x %v", ikm, p1, q1, err1, p2, q2, err2)
				}
			}
		})
	}
}

// TestX25519HPKEVectors runs the DHKEM(X25519, HKDF-SHA256) base-mode
// vectors of RFC 9180 Appendix A (as in Go's crypto/hpke testdata): key
// derivation from ikmR and ikmE and the encapsulated key, and for A.1.1
// the shared secret, key schedule and first ciphertext printed in the RFC.
func TestX25519HPKEVectors(t *testing.T) {
	const info = "4f6465206f6e2061204772656369616e2055726e" // "Ode on a Grecian Urn"
	tests := []struct {
		aead                         aeadKind
		ikmE, ikmR, skRm, pkRm, enc  string
		shared, key, nonce, exporter string
		ct                           string // seq 0: "Beauty is truth, truth beauty", aad "Count-0"
	}{
		{aesGCM128,
			"7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
			"6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
			"4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
			"3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
			"37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
			"fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
			"4531685d41d65f03dc48f6b8302c05b0",
			"56d890e5accaaf011cff4b7d",
			"45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8",
			"f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a"},
		{aead: chacha20Poly1305,
			ikmE: "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b",
			ikmR: "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df",
			skRm: "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
			pkRm: "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
			enc:  "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("aead-%d", tt.aead), func(t *testing.T) {
			k := newX25519KEM(tt.aead, newBaseCombOnce())
			// The vectors print skRm unclamped; SerializePrivateKey clamps.
			wantSk := (*[x25519Size]byte)(mustHex(t, tt.skRm))
			clampX25519(wantSk)
			skR, pkR, err := k.derive(mustHex(t, tt.ikmR))
			if err != nil || !bytes.Equal(skR, wantSk[:]) || !bytes.Equal(pkR, mustHex(t, tt.pkRm)) {
				t.Fatalf("derive(ikmR) = %x, %x, %v; want %x, %s", skR, pkR, err, wantSk, tt.pkRm)
			}
			if got, err := k.publicFromPrivate(mustHex(t, tt.skRm)); err != nil || !bytes.Equal(got, pkR) {
				t.Errorf("publicFromPrivate(unclamped skRm) = %x, %v; want %x", got, err, pkR)
			}
			skE, _, err := k.derive(mustHex(t, tt.ikmE))
			if err != nil {
				t.Fatal(err)
			}
			shared, enc, err := k.encapWith((*[x25519Size]byte)(skE), (*[x25519Size]byte)(pkR))
			if err != nil || !bytes.Equal(enc, mustHex(t, tt.enc)) {
				t.Fatalf("encap enc = %x, %v; want %s", enc, err, tt.enc)
			}
			got, err := k.decap(skR, enc)
			if err != nil || !bytes.Equal(got, shared) {
				t.Fatalf("decap = %x, %v; want %x", got, err, shared)
			}
			if tt.shared == "" {
				return
			}
			if !bytes.Equal(shared, mustHex(t, tt.shared)) {
				t.Errorf("shared_secret = %x, want %s", shared, tt.shared)
			}
			c := k.s.keySchedule(shared, mustHex(t, info), true)
			for name, pair := range map[string][2][]byte{
				"key":             {c.key[:k.s.nk], mustHex(t, tt.key)},
				"base_nonce":      {c.baseNonce[:], mustHex(t, tt.nonce)},
				"exporter_secret": {c.exporterSecret[:], mustHex(t, tt.exporter)},
			} {
				if !bytes.Equal(pair[0], pair[1]) {
					t.Errorf("%s = %x, want %x", name, pair[0], pair[1])
				}
			}
			_, ct, err := k.sealWith(shared, enc, mustHex(t, info), []byte("Count-0"), []byte("Beauty is truth, truth beauty"))
			if err != nil || !bytes.Equal(ct, mustHex(t, tt.ct)) {
				t.Errorf("seal seq 0 = %x, %v; want %s", ct, err, tt.ct)
			}
			pt, err := k.open(skR, enc, mustHex(t, info), []byte("Count-0"), mustHex(t, tt.ct))
			if err != nil || string(pt) != "Beauty is truth, truth beauty" {
				t.Errorf("open = %q, %v", pt, err)
			}
		})
	}
}

// TestX25519HPKERejects checks the error paths: small-order public keys
// and KEM outputs (RFC 9180 §7.1.4), wrong lengths and tampering.
func TestX25519HPKERejects(t *testing.T) {
	for _, a := range x25519AEADs {
		k := newX25519KEM(a, newBaseCombOnce())
		priv, pub, err := k.generate()
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range smallOrderPoints {
			bad := mustHex(t, h)
			if _, _, err := k.seal(bad, nil, nil, []byte("x")); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("seal to small-order %s = %v, want ErrInvalidKey", h, err)
			}
			if _, _, err := k.exportSender(bad, nil, nil, 32); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("exportSender to small-order %s = %v, want ErrInvalidKey", h, err)
			}
			if _, err := k.open(priv, bad, nil, nil, make([]byte, 32)); !errors.Is(err, ErrDecrypt) {
				t.Errorf("open of small-order enc %s = %v, want ErrDecrypt", h, err)
			}
			if _, err := k.exportReceiver(priv, bad, nil, nil, 32); !errors.Is(err, ErrDecrypt) {
				t.Errorf("exportReceiver of small-order enc %s = %v, want ErrDecrypt", h, err)
			}
		}
		enc, ct, err := k.seal(pub, []byte("info"), []byte("aad"), []byte("plaintext"))
		if err != nil {
			t.Fatal(err)
		}
		flip := func(b []byte, i int) []byte {
			c := bytes.Clone(b)
			c[i] ^= 1
			return c
		}
		tests := []struct {
			name                     string
			priv, enc, info, aad, ct []byte
			want                     error
		}{
			{"enc", priv, flip(enc, 3), []byte("info"), []byte("aad"), ct, ErrDecrypt},
			{"shortEnc", priv, enc[:31], []byte("info"), []byte("aad"), ct, ErrDecrypt},
			{"info", priv, enc, []byte("infO"), []byte("aad"), ct, ErrDecrypt},
			{"aad", priv, enc, []byte("info"), []byte("aaD"), ct, ErrDecrypt},
			{"ct", priv, enc, []byte("info"), []byte("aad"), flip(ct, len(ct)-1), ErrDecrypt},
			{"shortPriv", priv[:31], enc, []byte("info"), []byte("aad"), ct, ErrInvalidKey},
		}
		for _, tt := range tests {
			if _, err := k.open(tt.priv, tt.enc, tt.info, tt.aad, tt.ct); !errors.Is(err, tt.want) {
				t.Errorf("aead %d: open with tampered %s = %v, want %v", a, tt.name, err, tt.want)
			}
		}
		if _, _, err := k.seal(pub[:31], nil, nil, nil); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("seal to a 31-byte key = %v, want ErrInvalidKey", err)
		}
	}
}

// TestKeyScheduleContextCache checks that the cached key_schedule_context
// always equals a fresh computation, through hits, misses, infos too long
// to cache, and empty infos, and that sealing through the cache still
// opens with crypto/hpke.
func TestKeyScheduleContextCache(t *testing.T) {
	a, b := []byte("group context A"), []byte("group context B")
	big := bytes.Repeat([]byte{7}, kscCacheMax+1)
	infos := [][]byte{a, a, b, a, big, big, nil, {}, nil, a, bytes.Clone(a)}
	k, std := newX25519KEM(aesGCM128, newBaseCombOnce()), newStdKEM(kemX25519, aesGCM128)
	priv, pub, err := std.generate()
	if err != nil {
		t.Fatal(err)
	}
	for i, info := range infos {
		got := k.s.keyScheduleContext(info)
		want := newSHA256Schedule(aesGCM128).keyScheduleContext(info)
		if got != want {
			t.Errorf("info %d (%d bytes): cached context %x, want %x", i, len(info), got, want)
		}
		enc, ct, err := k.seal(pub, info, nil, []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := std.open(priv, enc, info, nil, ct); err != nil || string(pt) != "secret" {
			t.Errorf("info %d: crypto/hpke open = %q, %v", i, pt, err)
		}
	}
}

// TestConcurrentHPKE seals and opens from many goroutines at once with two
// recipient keys and two contexts alternating, so that the parsed-key and
// key-schedule caches are hit and replaced concurrently (run with -race).
func TestConcurrentHPKE(t *testing.T) {
	for _, s := range mustSuites(t) {
		var keys [2][2][]byte
		for i := range keys {
			priv, pub, err := s.GenerateKeyPair()
			if err != nil {
				t.Fatal(err)
			}
			keys[i] = [2][]byte{priv, pub}
		}
		errs := make(chan error, 8)
		for g := range 8 {
			go func() {
				for i := range 6 {
					k := keys[(g+i)%2]
					ctx := []byte{byte(g % 2), 1, 2, 3}
					pt := []byte{byte(g), byte(i)}
					kemOut, ct, err := s.EncryptWithLabel(k[1], "UpdatePathNode", ctx, pt)
					if err == nil {
						var got []byte
						got, err = s.DecryptWithLabel(k[0], "UpdatePathNode", ctx, kemOut, ct)
						if err == nil && !bytes.Equal(got, pt) {
							err = fmt.Errorf("decrypted %x, want %x", got, pt)
						}
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
				t.Errorf("%v: concurrent seal/open: %v", s, err)
			}
		}
	}
}
