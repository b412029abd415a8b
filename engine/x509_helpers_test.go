package engine

import (
	"crypto"
	"crypto/x509"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
	"github.com/mlsbackup/mlsbackup/internal/testcert"
)

// newTestCA returns a fresh root CA (the tests' certificates come from
// internal/testcert, a test-only helper).
func newTestCA(t testing.TB, name string) *testcert.CA { return testcert.NewCA(t, name) }

// certKey returns a fresh private key of suite id's signature scheme.
func certKey(t testing.TB, id suite.ID) crypto.Signer {
	t.Helper()
	cs, err := suite.New(id)
	if err != nil {
		t.Fatal(err)
	}
	return testcert.KeyFor(t, func(k crypto.Signer) bool {
		_, _, err := cs.ImportSignaturePrivateKey(k)
		return err == nil
	})
}

// issue returns an X.509 credential from ca for a fresh key of suite id
// naming uri (see testcert.CA.Chain for mods).
func issue(t testing.TB, ca *testcert.CA, id suite.ID, uri string, mods ...func(*x509.Certificate)) *X509Credential {
	t.Helper()
	key := certKey(t, id)
	return &X509Credential{Chain: ca.Chain(t, key, uri, mods...), Key: key}
}

// x509Member returns a member with the X.509 credential cred.
func x509Member(t testing.TB, name string, cred *X509Credential, opts Options) *member {
	t.Helper()
	st := NewMemStorage()
	c, err := NewX509Client(st, cred, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &member{name: name, st: st, client: c}
}

// testCaps returns the default capabilities of a leaf of suite cs with a
// credential of type own.
func testCaps(t testing.TB, cs *suite.Suite, own wire.CredentialType) wire.Capabilities {
	t.Helper()
	caps, err := Capabilities{}.leafCapabilities(cs, own)
	if err != nil {
		t.Fatal(err)
	}
	return caps
}

// x509Suites are the suites whose signature keys certificates can carry.
func x509Suites() []suite.ID {
	var out []suite.ID
	for _, id := range suite.All() {
		cs, err := suite.New(id)
		if err == nil && cs.CertificateKeys() {
			out = append(out, id)
		}
	}
	return out
}
