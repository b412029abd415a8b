package agent

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/config"
)

// Credential types of [KeyPackageRequest].Credential.
const (
	CredentialBasic = config.CredentialBasic
	CredentialX509  = config.CredentialX509
)

// authentication returns the credential policy of cfg's mls section:
// the engine's default, with the roots of mls.x509_roots if set.
func authentication(cfg *config.Config, now engine.Options) (engine.AuthenticationService, error) {
	as := engine.DefaultAuthenticationService{Now: now.Now}
	if path := cfg.MLS.X509Roots; path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("mls.x509_roots: %w", err)
		}
		as.Roots = x509.NewCertPool()
		if !as.Roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mls.x509_roots: %s holds no PEM certificate", path)
		}
	}
	return as, nil
}

// newClients returns the agent's MLS client, presenting cfg's
// mls.credential, and a client with the basic credential of cfg's
// identity (the same one when the configured credential is basic).
func newClients(cfg *config.Config, st engine.Storage, opts engine.Options) (configured, basic *engine.Client, err error) {
	basic = engine.NewClient(st, []byte(cfg.ClientName), opts)
	if cfg.MLS.Credential.Type != config.CredentialX509 {
		return basic, basic, nil
	}
	cred, err := x509Credential(cfg)
	if err != nil {
		return nil, nil, err
	}
	if configured, err = engine.NewX509Client(st, cred, opts); err != nil {
		return nil, nil, fmt.Errorf("mls.credential: %w", err)
	}
	return configured, basic, nil
}

// x509Credential reads the X.509 credential of cfg's mls.credential.
func x509Credential(cfg *config.Config) (*engine.X509Credential, error) {
	cr := cfg.MLS.Credential
	chain, err := os.ReadFile(cr.CertChain)
	if err != nil {
		return nil, fmt.Errorf("mls.credential.cert_chain: %w", err)
	}
	key, err := os.ReadFile(cr.Key)
	if err != nil {
		return nil, fmt.Errorf("mls.credential.key: %w", err)
	}
	cred, err := engine.ParseX509CredentialPEM(chain, key)
	if err != nil {
		return nil, fmt.Errorf("mls.credential: %w", err)
	}
	return cred, nil
}

// keyPackageClient returns the client whose credential a KeyPackage
// request asks for: the configured one, the basic one, or one for the
// X.509 credential given in the request.
func (a *Agent) keyPackageClient(req KeyPackageRequest) (*engine.Client, error) {
	given := len(req.CertChain) > 0 || len(req.PrivateKey) > 0
	switch req.Credential {
	case "":
		if given {
			return nil, fmt.Errorf("key package: %w: cert_chain and private_key need credential x509", ErrInvalidArgument)
		}
		return a.client, nil
	case CredentialBasic:
		if given {
			return nil, fmt.Errorf("key package: %w: cert_chain and private_key need credential x509", ErrInvalidArgument)
		}
		return a.basic, nil
	case CredentialX509:
	default:
		return nil, fmt.Errorf("key package: %w: credential %q is not basic or x509", ErrInvalidArgument, req.Credential)
	}
	if !given {
		if a.client.Credential().Type != engine.CredentialX509 {
			return nil, fmt.Errorf("key package: %w: credential x509 needs cert_chain and private_key, or mls.credential of type x509", ErrInvalidArgument)
		}
		return a.client, nil
	}
	cred, err := engine.ParseX509CredentialPEM(req.CertChain, req.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("key package: %w: %w", ErrInvalidArgument, err)
	}
	c, err := engine.NewX509Client(a.store, cred, a.engOpts)
	if err != nil {
		return nil, fmt.Errorf("key package: %w", err)
	}
	return c, nil
}

// hexPrefix marks an identity shown as hex (see [displayIdentity]).
const hexPrefix = "hex:"

// displayIdentity returns a member identity as the API, the CLI and the
// logs show it: the text itself when it is printable UTF-8, otherwise
// "hex:" and its lower-case hex (also for a printable identity that starts
// with "hex:"), so that two identities never show alike.
func displayIdentity(id []byte) string {
	s := string(id)
	printable := utf8.ValidString(s) && !strings.HasPrefix(s, hexPrefix)
	for _, r := range s {
		if !printable {
			break
		}
		printable = unicode.IsPrint(r)
	}
	if printable {
		return s
	}
	return hexPrefix + hex.EncodeToString(id)
}

// memberOf is the API's view of a member.
func memberOf(m engine.Member) Member {
	return Member{Index: m.Index, Identity: displayIdentity(m.Identity), CredentialType: m.CredentialType.String()}
}
