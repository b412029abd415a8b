package wire

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

// suiteHash returns the hash function of an RFC 9420 cipher suite.
func suiteHash(t *testing.T, cs CipherSuite) func([]byte) []byte {
	t.Helper()
	switch cs {
	case 1, 2, 3:
		return func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
	case 4, 5, 6:
		return func(b []byte) []byte { h := sha512.Sum512(b); return h[:] }
	case 7:
		return func(b []byte) []byte { h := sha512.Sum384(b); return h[:] }
	}
	t.Fatalf("unknown cipher suite %d", cs)
	return nil
}

// TestKeyPackageRefFromWelcomeVectors checks MakeKeyPackageRef against the
// new_member references of welcome.json, one case per cipher suite.
func TestKeyPackageRefFromWelcomeVectors(t *testing.T) {
	var cases []struct {
		CipherSuite CipherSuite `json:"cipher_suite"`
		KeyPackage  vectors.Hex `json:"key_package"`
		Welcome     vectors.Hex `json:"welcome"`
	}
	if err := vectors.Load("welcome", &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var kp, wm MLSMessage
		if err := codec.Unmarshal(c.KeyPackage, &kp); err != nil || kp.KeyPackage == nil {
			t.Fatalf("suite %d: key package: %v", c.CipherSuite, err)
		}
		if err := codec.Unmarshal(c.Welcome, &wm); err != nil || wm.Welcome == nil {
			t.Fatalf("suite %d: welcome: %v", c.CipherSuite, err)
		}
		got := MakeKeyPackageRef(suiteHash(t, c.CipherSuite), codec.Marshal(kp.KeyPackage))
		found := false
		for _, s := range wm.Welcome.Secrets {
			found = found || bytes.Equal(s.NewMember, got)
		}
		if !found {
			t.Errorf("suite %d: key package ref %x not among the welcome's recipients", c.CipherSuite, got)
		}
	}
}
