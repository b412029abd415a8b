package engine

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Client is one MLS client: its credential (RFC 9420 §5.3), its
// signature keys, and its unused KeyPackages. A client with a basic
// credential has one signature key per cipher suite, generated and stored
// by the engine; a client with an X.509 credential signs with its
// certificate's key. Its client-level components are stored with an empty
// group id.
type Client struct {
	st       Storage
	identity []byte
	// x509, if set, is the client's credential instead of a basic one.
	x509 *X509Credential
	opts Options
	// keyMu guards newKeys, the basic signature keys generated and not
	// yet known to be stored (see basicSignatureKey).
	keyMu   sync.Mutex
	newKeys map[suite.ID]sigKeyRecord
}

// NewClient returns the client with a basic credential of identity that
// keeps its state in st.
func NewClient(st Storage, identity []byte, opts Options) *Client {
	opts = opts.withDefaults()
	if opts.Suites == nil {
		opts.Suites = suite.NewRegistry()
	}
	return &Client{st: st, identity: bytes.Clone(identity), opts: opts}
}

// NewX509Client returns the client with the X.509 credential cred that
// keeps its state in st. It checks that the chain parses and that the key
// is its first certificate's. Its KeyPackages, groups and external joins
// present cred and sign with its key, so they are possible only in the
// cipher suites of that key's signature scheme.
func NewX509Client(st Storage, cred *X509Credential, opts Options) (*Client, error) {
	if cred == nil {
		return nil, fmt.Errorf("new x509 client: no credential: %w", ErrBadCredential)
	}
	own := &X509Credential{Chain: cloneChain(cred.Chain), Key: cred.Key}
	if err := own.check(); err != nil {
		return nil, fmt.Errorf("new x509 client: %w: %w", ErrBadCredential, err)
	}
	c := NewClient(st, nil, opts)
	c.x509, c.identity = own, identityOf(wire.CredentialTypeX509, nil, own.Chain)
	return c, nil
}

// Identity returns the identity the client's credential names (see
// [Credential.Identity]).
func (c *Client) Identity() []byte { return bytes.Clone(c.identity) }

// Credential returns the client's credential.
func (c *Client) Credential() Credential { return credentialOf(ptr(c.credential())) }

// credential is the credential of the client's new leaves.
func (c *Client) credential() wire.Credential {
	if c.x509 != nil {
		return wire.Credential{CredentialType: wire.CredentialTypeX509, Certificates: cloneChain(c.x509.Chain)}
	}
	return wire.Credential{CredentialType: wire.CredentialTypeBasic, Identity: bytes.Clone(c.identity)}
}

func ptr[T any](v T) *T { return &v }

func keyPackageName(ref []byte) string { return "kp_" + hex.EncodeToString(ref) }

// CreateKeyPackage creates a KeyPackage for suite id (RFC 9420 §10), stores
// its private init and leaf keys, and returns it encoded as an MLSMessage.
// The keys are deleted when a Welcome uses them, unless lastResort is set.
// With an [Attach] (at most one), the caller's components are stored in the
// same batch as the keys.
func (c *Client) CreateKeyPackage(ctx context.Context, id suite.ID, lastResort bool, attach ...Attach) ([]byte, error) {
	cs, err := c.opts.Suites.Get(id)
	if err != nil {
		return nil, fmt.Errorf("create key package: %w", typed(err))
	}
	kp, sec, _, puts, err := c.newKeyPackage(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("create key package: %w", err)
	}
	sec.LastResort = lastResort
	ref := wire.MakeKeyPackageRef(hashFunc(cs), sec.KeyPackage)
	msg := codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatKeyPackage, KeyPackage: kp})
	batch := &Batch{Op: "CreateKeyPackage", Puts: append(puts, Put{Key: Key{Kind: KindKeys, Name: keyPackageName(ref)}, Value: codec.Marshal(sec)})}
	call := newAttachCall(attach)
	if out := call.outcome(); out != nil {
		out.Message = msg
	}
	if err := call.extend(batch, nil, false); err != nil {
		return nil, err
	}
	if err := c.st.Apply(ctx, batch); err != nil {
		return nil, fmt.Errorf("store key package: %w", err)
	}
	return msg, nil
}

// newKeyPackage creates a KeyPackage of the client's credential for cs,
// dated now (see [Options.Now]). Its secrets hold the signature key when
// it is not the stored basic one.
// puts stores a newly generated signature key (see
// [Client.basicSignatureKey]).
func (c *Client) newKeyPackage(ctx context.Context, cs *suite.Suite) (kp *wire.KeyPackage, sec *keyPackageSecrets, sigPriv []byte, puts []Put, err error) {
	sigPriv, sigPub, puts, err := c.signatureKey(ctx, cs)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	now := c.opts.now()
	if c.opts.Now == nil {
		now = timeNow()
	}
	cred := c.credential()
	caps, err := c.opts.Capabilities.leafCapabilities(cs, cred.CredentialType)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	kp, sec, err = newKeyPackage(cs, cred, caps, sigPriv, sigPub, now)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if c.x509 != nil {
		sec.SigPriv = sigPriv
	}
	return kp, sec, sigPriv, puts, nil
}

// loadKeyPackage returns the stored private record of the KeyPackage ref.
func (c *Client) loadKeyPackage(ctx context.Context, ref []byte) (*keyPackageSecrets, error) {
	b, err := c.st.Get(ctx, Key{Kind: KindKeys, Name: keyPackageName(ref)})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("key package %x: %w", ref, ErrNoKeyPackage)
		}
		return nil, fmt.Errorf("load key package: %w", err)
	}
	var sec keyPackageSecrets
	if err := codec.Unmarshal(b, &sec); err != nil {
		return nil, fmt.Errorf("key package %x: %w: %w", ref, ErrCorrupt, err)
	}
	return &sec, nil
}
