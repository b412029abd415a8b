package engine

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/internal/parallel"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// AuthenticationService is the application's credential policy, the
// Authentication Service of RFC 9420 §5.3.1. The engine calls it for
// every credential that enters a group this client is in or joins: the
// KeyPackages of Add proposals (its own commits' included), Update
// proposals and commit paths that change a member's credential or
// signature key, the leaf of an external commit, and every leaf of the
// tree a new member receives (Welcome or GroupInfo). Before the call the
// engine has checked what does not depend on policy: an x509 credential's
// chain parses and its first certificate holds the signature key. A
// refusal makes the proposal, commit or join fail without changing
// anything. Implementations must be safe for concurrent use.
type AuthenticationService interface {
	// Authenticate returns nil if cred, presented with the signature
	// public key signatureKey (in the group's suite's encoding), is
	// acceptable as a member of a group.
	Authenticate(ctx context.Context, cred Credential, signatureKey []byte) error
	// Successor returns nil if next may replace prev as the credential of
	// the same client: an Update or commit path that changes a member's
	// credential, and the Remove of an external commit, which may remove
	// only an earlier appearance of the joiner (RFC 9420 §5.3.1,
	// §12.4.3.2).
	Successor(ctx context.Context, prev, next Credential) error
}

// DefaultAuthenticationService is the [AuthenticationService] a client
// uses when [Options.Authentication] is nil. It accepts basic credentials
// as they are. It accepts an x509 credential whose chain verifies with
// crypto/x509 at the current time, for any extended key usage: against
// Roots when set; without Roots, against the chain's own last certificate,
// which checks the chain's signatures and validity but anchors it nowhere
// (no more assurance than a basic credential gives). A successor must
// name the same, non-empty identity ([Credential.Identity]).
type DefaultAuthenticationService struct {
	// Roots are the trust anchors of x509 credentials; nil: see above.
	Roots *x509.CertPool
	// Now is the time certificates must be valid at; nil means
	// time.Now.
	Now func() time.Time
}

var _ AuthenticationService = DefaultAuthenticationService{}

// Authenticate implements [AuthenticationService].
func (a DefaultAuthenticationService) Authenticate(_ context.Context, cred Credential, _ []byte) error {
	switch cred.Type {
	case CredentialBasic:
		return nil
	case CredentialX509:
	default:
		return fmt.Errorf("%v: %w", cred.Type, ErrBadCredential)
	}
	certs, err := parseChain(cred.Chain)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCredential, err)
	}
	opts := x509.VerifyOptions{
		Roots:         a.Roots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		CurrentTime:   time.Now(),
	}
	if a.Now != nil {
		opts.CurrentTime = a.Now()
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if opts.Roots == nil {
		opts.Roots = x509.NewCertPool()
		opts.Roots.AddCert(certs[len(certs)-1])
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return fmt.Errorf("%w: %w", ErrBadCredential, err)
	}
	return nil
}

// Successor implements [AuthenticationService].
func (DefaultAuthenticationService) Successor(_ context.Context, prev, next Credential) error {
	p, n := prev.Identity(), next.Identity()
	if len(p) == 0 || !bytes.Equal(p, n) {
		return fmt.Errorf("%w: the new credential names another identity", ErrBadCredential)
	}
	return nil
}

// authenticateLeaf checks the credential of leaf, a leaf node entering a
// group of suite cs (RFC 9420 §5.3.1): the key binding of
// [checkCredentialKey], then the authentication service. old, if not nil,
// is the leaf it replaces: a leaf with the same credential and signature
// key brings no new credential and passes; a new one must also be a
// valid successor of old's.
func authenticateLeaf(ctx context.Context, cs *suite.Suite, opts Options, leaf, old *wire.LeafNode) error {
	if old != nil && bytes.Equal(old.SignatureKey, leaf.SignatureKey) && sameCredential(&old.Credential, &leaf.Credential) {
		return nil
	}
	if err := checkCredentialKey(cs, &leaf.Credential, leaf.SignatureKey); err != nil {
		return err
	}
	as := opts.authentication()
	next := credentialOf(&leaf.Credential)
	if err := as.Authenticate(ctx, next, leaf.SignatureKey); err != nil {
		return fmt.Errorf("credential: %w", asBadCredential(err))
	}
	if old != nil {
		if err := as.Successor(ctx, credentialOf(&old.Credential), next); err != nil {
			return fmt.Errorf("credential: %w", asBadCredential(err))
		}
	}
	return nil
}

// authenticateLeaves runs [authenticateLeaf] on every leaf of a tree a
// new member received, on all CPUs.
func authenticateLeaves(ctx context.Context, cs *suite.Suite, opts Options, leaves []*wire.LeafNode) error {
	return parallel.For(len(leaves), 8, func(i int) error {
		return authenticateLeaf(ctx, cs, opts, leaves[i], nil)
	})
}

// authenticateSender checks the credential of an external sender entering
// the group's external_senders extension, as [authenticateLeaf] does a
// leaf's.
func authenticateSender(ctx context.Context, cs *suite.Suite, opts Options, e *wire.ExternalSender) error {
	if err := checkCredentialKey(cs, &e.Credential, e.SignatureKey); err != nil {
		return err
	}
	if err := opts.authentication().Authenticate(ctx, credentialOf(&e.Credential), e.SignatureKey); err != nil {
		return fmt.Errorf("credential: %w", asBadCredential(err))
	}
	return nil
}

func sameCredential(a, b *wire.Credential) bool {
	if a.CredentialType != b.CredentialType || !bytes.Equal(a.Identity, b.Identity) || len(a.Certificates) != len(b.Certificates) {
		return false
	}
	for i := range a.Certificates {
		if !bytes.Equal(a.Certificates[i], b.Certificates[i]) {
			return false
		}
	}
	return true
}

// asBadCredential makes sure a refusal of the authentication service
// wraps [ErrBadCredential].
func asBadCredential(err error) error {
	if errors.Is(err, ErrBadCredential) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrBadCredential, err)
}
