package suite

import (
	"bytes"
	"crypto/ed25519"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eddsaVector is one RFC 8032 test: a secret key (seed), its public key,
// a message and its signature, all hex.
type eddsaVector struct {
	Name      string `json:"name"`
	SecretKey string `json:"secret_key"`
	PublicKey string `json:"public_key"`
	Message   string `json:"message"`
	Signature string `json:"signature"`
}

// ed448Vectors are the RFC 8032 §7.4 tests of pure Ed448 without context.
var ed448Vectors = []eddsaVector{
	{
		Name:      "Blank",
		SecretKey: "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3528c8a3fcc2f044e39a3fc5b94492f8f032e7549a20098f95b",
		PublicKey: "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180",
		Signature: "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f2b233f034f628281f2fd7a22ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cdda8530a113a0f4dbb61149f05a7363268c71d95808ff2e652600",
	},
	{
		Name:      "1 octet",
		SecretKey: "c4eab05d357007c632f3dbb48489924d552b08fe0c353a0d4a1f00acda2c463afbea67c5e8d2877c5e3bc397a659949ef8021e954e0a12274e",
		PublicKey: "43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4cb82169c235160627b4c3a9480",
		Message:   "03",
		Signature: "26b8f91727bd62897af15e41eb43c377efb9c610d48f2335cb0bd0087810f4352541b143c4b981b7e18f62de8ccdf633fc1bf037ab7cd779805e0dbcc0aae1cbcee1afb2e027df36bc04dcecbf154336c19f0af7e0a6472905e799f1953d2a0ff3348ab21aa4adafd1d234441cf807c03a00",
	},
}

// eddsaVectors returns the RFC 8032 tests of the suite's signature scheme:
// §7.1 (Ed25519, all five, with TEST 1024 and TEST SHA(abc), from
// testdata) or §7.4 (Ed448).
func eddsaVectors(t *testing.T, s *Suite) []eddsaVector {
	t.Helper()
	if _, ok := s.sig.(ed448Signer); ok {
		return ed448Vectors
	}
	raw, err := os.ReadFile("testdata/rfc8032-ed25519.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []eddsaVector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 5 {
		t.Fatalf("%d RFC 8032 §7.1 vectors, want 5", len(vs))
	}
	return vs
}

// TestEdDSAKnownAnswers runs the RFC 8032 known-answer tests through every
// EdDSA suite's signer: the public key of the seed, the signature byte for
// byte (EdDSA is deterministic), also with the message handed over in
// parts as SignWithLabel does, and its verification; a flipped bit fails.
func TestEdDSAKnownAnswers(t *testing.T) {
	for _, s := range mustSuites(t) {
		switch s.sig.(type) {
		case ed25519Signer, ed448Signer:
		default:
			continue
		}
		for _, v := range eddsaVectors(t, s) {
			seed, pub, msg, want := unhex(t, v.SecretKey), unhex(t, v.PublicKey), unhex(t, v.Message), unhex(t, v.Signature)
			if got, err := s.SignaturePublicKey(seed); err != nil || !bytes.Equal(got, pub) {
				t.Errorf("%v %s: public key %x, %v; want %x", s, v.Name, got, err, pub)
			}
			cut := len(msg) / 3
			for _, parts := range [][][]byte{{msg}, {msg[:cut], nil, msg[cut:]}} {
				got, err := s.sig.sign(seed, parts...)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%v %s (%d parts): signature %x, %v; want %x", s, v.Name, len(parts), got, err, want)
				}
			}
			if err := s.sig.verify(pub, msg, want); err != nil {
				t.Errorf("%v %s: verify: %v", s, v.Name, err)
			}
			bad := bytes.Clone(want)
			bad[len(bad)/2] ^= 1
			if err := s.sig.verify(pub, msg, bad); err == nil {
				t.Errorf("%v %s: a corrupted signature verifies", s, v.Name)
			}
		}
	}
}

// TestECDSAKnownAnswers checks every ECDSA suite's verification and
// public-key derivation on the RFC 6979 §A.2.5–A.2.7 vectors with the
// suite's own curve and hash (message "sample"): the suites sign with
// randomized nonces, so their own signatures are no known answers, but a
// deterministic signature of the RFC must verify and a changed one not.
func TestECDSAKnownAnswers(t *testing.T) {
	vectors := map[ID]struct{ x, ux, uy, r, s string }{
		P256AES128GCMSHA256P256: { // A.2.5, SHA-256
			"C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721",
			"60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6",
			"7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
			"EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
			"F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
		},
		P384AES256GCMSHA384P384: { // A.2.6, SHA-384
			"6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D896D5724E4C70A825F872C9EA60D2EDF5",
			"EC3A4E415B4E19A4568618029F427FA5DA9A8BC4AE92E02E06AAE5286B300C64DEF8F0EA9055866064A254515480BC13",
			"8015D9B72D7D57244EA8EF9AC0C621896708A59367F9DFB9F54CA84B3F1C9DB1288B231C3AE0D4FE7344FD2533264720",
			"94EDBB92A5ECB8AAD4736E56C691916B3F88140666CE9FA73D64C4EA95AD133C81A648152E44ACF96E36DD1E80FABE46",
			"99EF4AEB15F178CEA1FE40DB2603138F130E740A19624526203B6351D0A3A94FA329C145786E679E7B82C71A38628AC8",
		},
		P521AES256GCMSHA512P521: { // A.2.7, SHA-512
			"00FAD06DAA62BA3B25D2FB40133DA757205DE67F5BB0018FEE8C86E1B68C7E75CAA896EB32F1F47C70855836A6D16FCC1466F6D8FBEC67DB89EC0C08B0E996B83538",
			"01894550D0785932E00EAA23B694F213F8C3121F86DC97A04E5A7167DB4E5BCD371123D46E45DB6B5D5370A7F20FB633155D38FFA16D2BD761DCAC474B9A2F5023A4",
			"00493101C962CD4D2FDDF782285E64584139C2F91B47F87FF82354D6630F746A28A0DB25741B5B34A828008B22ACC23F924FAAFBD4D33F81EA66956DFEAA2BFDFCF5",
			"00C328FAFCBD79DD77850370C46325D987CB525569FB63C5D3BC53950E6D4C5F174E25A1EE9017B5D450606ADD152B534931D7D4E8455CC91F9B15BF05EC36E377FA",
			"00617CCE7CF5064806C467F678D3B4080D6F1CC50AF26CA209417308281B68AF282623EAA63E5B5C0723D8B8C37FF0777B1A20F8CCB1DCCC43997F1EE0E44DA4A67A",
		},
	}
	for id, v := range vectors {
		s, err := New(id)
		if err != nil {
			t.Fatal(err)
		}
		pub := append(append([]byte{4}, unhex(t, v.ux)...), unhex(t, v.uy)...)
		if got, err := s.SignaturePublicKey(unhex(t, v.x)); err != nil || !bytes.Equal(got, pub) {
			t.Errorf("%v: public key %x, %v; want %x", s, got, err, pub)
		}
		r, sv := new(big.Int).SetBytes(unhex(t, v.r)), new(big.Int).SetBytes(unhex(t, v.s))
		sig, err := asn1.Marshal(struct{ R, S *big.Int }{r, sv})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.sig.verify(pub, []byte("sample"), sig); err != nil {
			t.Errorf("%v: RFC 6979 signature of \"sample\": %v", s, err)
		}
		if err := s.sig.verify(pub, []byte("samplf"), sig); err == nil {
			t.Errorf("%v: the signature verifies another message", s)
		}
		own, err := s.sig.sign(unhex(t, v.x), []byte("sam"), []byte("ple"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.sig.verify(pub, []byte("sample"), own); err != nil {
			t.Errorf("%v: own signature with the RFC key: %v", s, err)
		}
	}
}

// TestSignWithLabelEd25519AtEveryLength checks that SignWithLabel of the
// Ed25519 suites is RFC 8032 Ed25519 over SignContent, byte for byte, at
// every content length: the hand-written signer it replaced derived the
// nonce of contents over 16 KiB from an unkeyed SHA-256 of the message, so
// two colliding messages would have shared a nonce and given the key away.
func TestSignWithLabelEd25519AtEveryLength(t *testing.T) {
	for _, id := range []ID{X25519AES128GCMSHA256Ed25519, X25519ChaCha20Poly1305SHA256Ed25519} {
		s, err := New(id)
		if err != nil {
			t.Fatal(err)
		}
		seed, _, err := s.GenerateSignatureKey()
		if err != nil {
			t.Fatal(err)
		}
		key := ed25519.NewKeyFromSeed(seed)
		for _, n := range []int{0, 1, 1023, 16<<10 - 1, 16 << 10, 16<<10 + 1, 300_000} {
			content := bytes.Repeat([]byte{byte(n)}, n)
			got, err := s.SignWithLabel(seed, "GroupInfoTBS", content)
			if err != nil {
				t.Fatal(err)
			}
			if want := ed25519.Sign(key, signContent("GroupInfoTBS", content)); !bytes.Equal(got, want) {
				t.Errorf("%v: %d-byte content: signature is not RFC 8032's", s, n)
			}
		}
	}
}
