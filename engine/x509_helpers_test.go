package engine

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// testCA issues X.509 credentials for tests: a root, or an intermediate
// whose chain (without the root) is chain.
type testCA struct {
	cert  *x509.Certificate
	key   crypto.Signer
	chain [][]byte
	root  *x509.Certificate
}

// nextSerial returns a random serial number.
func nextSerial() *big.Int {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

// newTestCA returns a self-signed ECDSA P-256 root named name.
func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, root: cert}
}

// intermediate returns a CA signed by ca.
func (ca *testCA) intermediate(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, chain: append([][]byte{der}, ca.chain...), root: ca.root}
}

// pool returns a pool holding ca's root.
func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.root)
	return p
}

// certKey returns a fresh private key of suite id's signature scheme.
func certKey(t testing.TB, id suite.ID) crypto.Signer {
	t.Helper()
	var key crypto.Signer
	var err error
	switch id {
	case suite.X25519AES128GCMSHA256Ed25519, suite.X25519ChaCha20Poly1305SHA256Ed25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case suite.P256AES128GCMSHA256P256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case suite.P384AES256GCMSHA384P384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case suite.P521AES256GCMSHA512P521:
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	default:
		t.Fatalf("suite %v has no certificate keys", id)
	}
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// issue returns an X.509 credential for a fresh key of suite id, whose
// certificate names uri and is valid from an hour ago for a day; mods
// change the certificate template first.
func (ca *testCA) issue(t testing.TB, id suite.ID, uri string, mods ...func(*x509.Certificate)) *X509Credential {
	t.Helper()
	key := certKey(t, id)
	return ca.issueFor(t, key, uri, mods...)
}

// issueFor is issue for the key key.
func (ca *testCA) issueFor(t testing.TB, key crypto.Signer, uri string, mods ...func(*x509.Certificate)) *X509Credential {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: uri},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		URIs: []*url.URL{u}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, m := range mods {
		m(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &X509Credential{Chain: append([][]byte{der}, ca.chain...), Key: key}
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
