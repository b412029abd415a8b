// Package testcert issues X.509 certificates for tests of MLS x509
// credentials: root and intermediate CAs, and member certificates for any
// key, as DER chains or as the PEM files the agent's configuration and the
// CLI read. It is for tests only.
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority: a root, or an intermediate under one.
type CA struct {
	cert *x509.Certificate
	key  crypto.Signer
	// chain is the DER chain up to the root, without it: the CA's own
	// certificate and its intermediates (empty for a root).
	chain [][]byte
	root  *x509.Certificate
}

// NewCA returns a fresh self-signed ECDSA P-256 root named name, valid
// from an hour ago for a day.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	cert, key := newCACert(t, name, nil)
	return &CA{cert: cert, key: key, root: cert}
}

// Intermediate returns a CA named name signed by ca.
func (ca *CA) Intermediate(t testing.TB, name string) *CA {
	t.Helper()
	cert, key := newCACert(t, name, ca)
	return &CA{cert: cert, key: key, chain: append([][]byte{cert.Raw}, ca.chain...), root: ca.root}
}

// newCACert returns a CA certificate named name, signed by parent (self
// when nil).
func newCACert(t testing.TB, name string, parent *CA) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	signer, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// Pool returns a pool holding ca's root.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.root)
	return p
}

// RootPEM writes the root certificate to dir/name and returns the path.
func (ca *CA) RootPEM(t testing.TB, dir, name string) string {
	t.Helper()
	return write(t, filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.root.Raw}))
}

// Chain returns the DER chain (the new certificate first, then ca's
// intermediates) of a certificate for key naming uri as its URI subject
// alternative name and common name, valid from an hour ago for a day;
// mods change the template first.
func (ca *CA) Chain(t testing.TB, key crypto.Signer, uri string, mods ...func(*x509.Certificate)) [][]byte {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: uri},
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
	return append([][]byte{der}, ca.chain...)
}

// KeyFor returns a fresh private key that fits, one of [Keys]; it fails t
// if none does.
func KeyFor(t testing.TB, fits func(crypto.Signer) bool) crypto.Signer {
	t.Helper()
	for _, k := range Keys(t) {
		if fits(k) {
			return k
		}
	}
	t.Fatal("no key of Ed25519, ECDSA P-256, P-384 or P-521 fits")
	return nil
}

// Keys returns one fresh private key of every signature scheme
// certificates carry for MLS: Ed25519 and ECDSA on P-256, P-384 and P-521.
func Keys(t testing.TB) []crypto.Signer {
	t.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := []crypto.Signer{ed}
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

// Member is an issued certificate chain and its key, as PEM.
type Member struct {
	// ChainPEM holds the chain's certificates, the member's first.
	ChainPEM []byte
	// KeyPEM is the PKCS #8 private key.
	KeyPEM []byte
}

// Issue returns a certificate for a fresh Ed25519 key (cipher suites 1
// and 3) naming uri, as PEM.
func (ca *CA) Issue(t testing.TB, uri string) Member {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var chain []byte
	for _, der := range ca.Chain(t, key, uri) {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Member{ChainPEM: chain, KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})}
}

// Files writes m's chain and key to dir/<name>.pem and dir/<name>.key
// (mode 0600) and returns their paths.
func (m Member) Files(t testing.TB, dir, name string) (chain, key string) {
	t.Helper()
	return write(t, filepath.Join(dir, name+".pem"), m.ChainPEM), write(t, filepath.Join(dir, name+".key"), m.KeyPEM)
}

func write(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
