// Package testcert issues X.509 certificates for tests of MLS x509
// credentials: a root CA, and member certificates for Ed25519 keys (cipher
// suites 1 and 3) naming a URI, written as the PEM files the agent's
// configuration and the CLI read.
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

// CA is a root certificate authority.
type CA struct {
	cert *x509.Certificate
	der  []byte
	key  crypto.Signer
}

// NewCA returns a fresh self-signed ECDSA P-256 root named name, valid
// from an hour ago for a day.
func NewCA(t testing.TB, name string) *CA {
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{cert: cert, der: der, key: key}
}

// RootPEM writes the root certificate to dir/name and returns the path.
func (ca *CA) RootPEM(t testing.TB, dir, name string) string {
	t.Helper()
	return write(t, filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der}))
}

// Member is an issued certificate and its key, as PEM.
type Member struct {
	// ChainPEM is the member's certificate (the chain has no
	// intermediates).
	ChainPEM []byte
	// KeyPEM is the PKCS #8 private key.
	KeyPEM []byte
}

// Issue returns a certificate for a fresh Ed25519 key naming uri.
func (ca *CA) Issue(t testing.TB, uri string) Member {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: uri},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		URIs: []*url.URL{u}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Member{
		ChainPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}
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
