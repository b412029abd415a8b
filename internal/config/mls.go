package config

import (
	"fmt"
	"slices"

	"github.com/mlsbackup/mlsbackup/engine"
)

// Credential types of mls.credential.type.
const (
	// CredentialBasic presents the identity as a basic credential.
	CredentialBasic = "basic"
	// CredentialX509 presents an X.509 certificate chain.
	CredentialX509 = "x509"
)

// MLS configures the agent's MLS client.
type MLS struct {
	// Credential is what the agent's KeyPackages, groups and external
	// joins present.
	Credential Credential `yaml:"credential"`
	// X509Roots is a PEM file of the trust anchors other members' x509
	// credentials must chain to. Empty: a chain is checked on its own
	// (signatures, validity, the key it binds) but anchored nowhere, as
	// much assurance as a basic credential gives.
	X509Roots string `yaml:"x509_roots"`
	// Capabilities is what the agent's new leaves advertise.
	Capabilities Capabilities `yaml:"capabilities"`
}

// Capabilities is what the agent advertises in its KeyPackages and other
// new leaves besides version and cipher suite (RFC 9420 §7.2). Empty lists
// advertise everything the engine implements.
type Capabilities struct {
	// Credentials are credential type names, basic and x509; empty:
	// both (x509 only in the suites whose keys certificates carry). Must
	// include mls.credential.type.
	Credentials []string `yaml:"credentials"`
	// Extensions are non-default extension types. The engine implements
	// none, so only GREASE values (0x0a0a, 0x1a1a, … 0xeaea) may be
	// listed.
	Extensions []uint16 `yaml:"extensions"`
	// Proposals are non-default proposal types; like Extensions, only
	// GREASE values.
	Proposals []uint16 `yaml:"proposals"`
}

// Engine returns the capabilities as the engine takes them; names are
// those Validate accepts.
func (c Capabilities) Engine() engine.Capabilities {
	var out engine.Capabilities
	for _, n := range c.Credentials {
		switch n {
		case CredentialBasic:
			out.Credentials = append(out.Credentials, engine.CredentialBasic)
		case CredentialX509:
			out.Credentials = append(out.Credentials, engine.CredentialX509)
		}
	}
	out.Extensions = slices.Clone(c.Extensions)
	out.Proposals = slices.Clone(c.Proposals)
	return out
}

// Credential is the agent's MLS credential (RFC 9420 §5.3).
type Credential struct {
	// Type is [CredentialBasic] (the identity) or [CredentialX509].
	Type string `yaml:"type"`
	// CertChain is a PEM file of the x509 credential's certificates, the
	// agent's own first; required for x509.
	CertChain string `yaml:"cert_chain"`
	// Key is a PEM file (PKCS #8 or SEC 1) of the private key of the
	// chain's first certificate; required for x509. It signs for the
	// agent in its groups; keep it 0600.
	Key string `yaml:"key"`
}

func (c *Config) validateMLS(v *validator) {
	cr := &c.MLS.Credential
	v.oneOf("mls.credential.type", cr.Type, CredentialBasic, CredentialX509)
	switch cr.Type {
	case CredentialX509:
		if cr.CertChain == "" {
			v.add("mls.credential.cert_chain", "required when type is x509")
		}
		if cr.Key == "" {
			v.add("mls.credential.key", "required when type is x509")
		}
	case CredentialBasic:
		if cr.CertChain != "" || cr.Key != "" {
			v.add("mls.credential.type", "cert_chain and key are set: use type x509, or remove them")
		}
	}
	caps := &c.MLS.Capabilities
	for i, n := range caps.Credentials {
		v.oneOf(fmt.Sprintf("mls.capabilities.credentials[%d]", i), n, CredentialBasic, CredentialX509)
	}
	if len(caps.Credentials) > 0 && !slices.Contains(caps.Credentials, cr.Type) {
		v.add("mls.capabilities.credentials", fmt.Sprintf("must include %s, the type of mls.credential", cr.Type))
	}
	if err := caps.Engine().Validate(); err != nil {
		v.add("mls.capabilities", err.Error())
	}
}
