package config

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
}
