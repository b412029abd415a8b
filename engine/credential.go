package engine

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"

	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// CredentialType identifies a credential format (RFC 9420 §5.3, §17.5).
type CredentialType uint16

// The credential types this engine implements.
const (
	// CredentialBasic is a basic credential: identity bytes the
	// application trusts as they are.
	CredentialBasic CredentialType = CredentialType(wire.CredentialTypeBasic)
	// CredentialX509 is an X.509 certificate chain whose first
	// certificate carries the member's signature key.
	CredentialX509 CredentialType = CredentialType(wire.CredentialTypeX509)
)

// String returns "basic", "x509" or the number.
func (t CredentialType) String() string {
	switch t {
	case CredentialBasic:
		return "basic"
	case CredentialX509:
		return "x509"
	}
	return fmt.Sprintf("credential type %#04x", uint16(t))
}

// Credential is a member's credential (RFC 9420 §5.3).
type Credential struct {
	// Type is the credential type.
	Type CredentialType
	// Basic is the identity of a basic credential.
	Basic []byte
	// Chain is the DER certificate chain of an x509 credential, the
	// member's own certificate first.
	Chain [][]byte
}

// Identity returns the identity the credential names: a basic
// credential's identity bytes; for an x509 credential the first URI,
// else DNS name, else e-mail address of its first certificate's subject
// alternative names, else that certificate's subject as an RFC 4514
// string. It returns nil if there is none (or the certificate does not
// parse). The bytes are not necessarily UTF-8 text.
func (c Credential) Identity() []byte {
	return identityOf(wire.CredentialType(c.Type), c.Basic, c.Chain)
}

// identityOf is [Credential.Identity] of the credential with these fields.
func identityOf(t wire.CredentialType, basic []byte, chain [][]byte) []byte {
	switch t {
	case wire.CredentialTypeBasic:
		return bytes.Clone(basic)
	case wire.CredentialTypeX509:
		if len(chain) == 0 {
			return nil
		}
		cert, err := x509.ParseCertificate(chain[0])
		if err != nil {
			return nil
		}
		return certIdentity(cert)
	}
	return nil
}

// certIdentity is the identity an X.509 certificate names (see
// [Credential.Identity]).
func certIdentity(cert *x509.Certificate) []byte {
	switch {
	case len(cert.URIs) > 0:
		return []byte(cert.URIs[0].String())
	case len(cert.DNSNames) > 0:
		return []byte(cert.DNSNames[0])
	case len(cert.EmailAddresses) > 0:
		return []byte(cert.EmailAddresses[0])
	}
	if s := cert.Subject.String(); s != "" {
		return []byte(s)
	}
	return nil
}

func credentialOf(c *wire.Credential) Credential {
	return Credential{Type: CredentialType(c.CredentialType), Basic: bytes.Clone(c.Identity), Chain: cloneChain(c.Certificates)}
}

func cloneChain(chain [][]byte) [][]byte {
	if chain == nil {
		return nil
	}
	out := make([][]byte, len(chain))
	for i, c := range chain {
		out[i] = bytes.Clone(c)
	}
	return out
}

// parseChain parses an x509 credential's certificates.
func parseChain(chain [][]byte) ([]*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("x509 credential without certificates")
	}
	certs := make([]*x509.Certificate, len(chain))
	for i, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i, err)
		}
		certs[i] = c
	}
	return certs, nil
}

// checkCredentialKey checks what RFC 9420 §5.3.1 asks of every
// credential before the application's policy: an x509 credential's chain
// parses and its first certificate's public key is signatureKey, the
// member's signature key in suite cs. A basic credential binds no key.
func checkCredentialKey(cs *suite.Suite, cred *wire.Credential, signatureKey []byte) error {
	switch cred.CredentialType {
	case wire.CredentialTypeBasic:
		return nil
	case wire.CredentialTypeX509:
		certs, err := parseChain(cred.Certificates)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadCredential, err)
		}
		pub, err := cs.ImportSignaturePublicKey(certs[0].PublicKey)
		if err != nil {
			return fmt.Errorf("%w: certificate key: %w", ErrBadCredential, err)
		}
		if !bytes.Equal(pub, signatureKey) {
			return fmt.Errorf("%w: the certificate's public key is not the leaf's signature key", ErrBadCredential)
		}
		return nil
	}
	return fmt.Errorf("%w: unsupported credential type %d", ErrBadCredential, cred.CredentialType)
}

// X509Credential is this client's X.509 credential (RFC 9420 §5.3): a
// certificate chain and the private key of its first certificate, which
// signs for the member.
type X509Credential struct {
	// Chain is the DER certificate chain, the client's own first.
	Chain [][]byte
	// Key is the private key of Chain[0] as crypto/x509 parses it: an
	// ed25519.PrivateKey or an *ecdsa.PrivateKey.
	Key crypto.PrivateKey
}

// ParseX509CredentialPEM reads an X.509 credential from PEM: chainPEM
// holds CERTIFICATE blocks, the client's own first; keyPEM its private key
// as a PKCS #8 "PRIVATE KEY" or SEC 1 "EC PRIVATE KEY" block. It checks
// that the key belongs to the first certificate.
func ParseX509CredentialPEM(chainPEM, keyPEM []byte) (*X509Credential, error) {
	var chain [][]byte
	for rest := chainPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("x509 credential: no CERTIFICATE block in the chain")
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("x509 credential: no PEM block in the key")
	}
	var key crypto.PrivateKey
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("x509 credential: key block %q, want PRIVATE KEY or EC PRIVATE KEY", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("x509 credential: key: %w", err)
	}
	cred := &X509Credential{Chain: chain, Key: key}
	if err := cred.check(); err != nil {
		return nil, err
	}
	return cred, nil
}

// check verifies that the chain parses and Key is the first certificate's
// private key.
func (c *X509Credential) check() error {
	certs, err := parseChain(c.Chain)
	if err != nil {
		return fmt.Errorf("x509 credential: %w", err)
	}
	signer, ok := c.Key.(crypto.Signer)
	if !ok {
		return fmt.Errorf("x509 credential: key of type %T cannot sign", c.Key)
	}
	eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(certs[0].PublicKey) {
		return errors.New("x509 credential: the key is not the first certificate's")
	}
	return nil
}

// identityCache remembers the identities of x509 credentials by their
// first certificate, so that listing members does not parse every
// certificate again. It is shared by a group's states; bounded, it starts
// over when full.
type identityCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

// identityCacheSize bounds an identityCache.
const identityCacheSize = 4096

func newIdentityCache() *identityCache { return &identityCache{m: map[string][]byte{}} }

// identity returns the identity of cred (see [Credential.Identity]).
func (c *identityCache) identity(cred *wire.Credential) []byte {
	if cred.CredentialType != wire.CredentialTypeX509 || len(cred.Certificates) == 0 || c == nil {
		return identityOf(cred.CredentialType, cred.Identity, cred.Certificates)
	}
	der := cred.Certificates[0]
	c.mu.Lock()
	id, ok := c.m[string(der)]
	c.mu.Unlock()
	if ok {
		return bytes.Clone(id)
	}
	id = identityOf(cred.CredentialType, cred.Identity, cred.Certificates)
	c.mu.Lock()
	if len(c.m) >= identityCacheSize {
		clear(c.m)
	}
	c.m[string(der)] = id
	c.mu.Unlock()
	return bytes.Clone(id)
}
