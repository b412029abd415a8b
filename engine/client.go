package engine

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Client is one MLS client: an identity (carried as a BasicCredential), one
// signature key per cipher suite, and its unused KeyPackages. Its
// client-level components are stored with an empty group id.
type Client struct {
	st       Storage
	identity []byte
	opts     Options
}

// NewClient returns the client with identity that keeps its state in st.
func NewClient(st Storage, identity []byte, opts Options) *Client {
	opts = opts.withDefaults()
	if opts.Suites == nil {
		opts.Suites = suite.NewRegistry()
	}
	return &Client{st: st, identity: bytes.Clone(identity), opts: opts}
}

// Identity returns the client's identity.
func (c *Client) Identity() []byte { return bytes.Clone(c.identity) }

func signatureKeyName(id suite.ID) string { return fmt.Sprintf("signature_%04x", uint16(id)) }

func keyPackageName(ref []byte) string { return "kp_" + hex.EncodeToString(ref) }

type sigKeyRecord struct{ Priv, Pub []byte }

func (s sigKeyRecord) MarshalTLS(w *codec.Writer) { w.Opaque(s.Priv); w.Opaque(s.Pub) }
func (s *sigKeyRecord) UnmarshalTLS(r *codec.Reader) {
	s.Priv = r.Opaque()
	s.Pub = r.Opaque()
}

// signatureKey returns the client's signature key pair for cs, creating and
// storing one if there is none yet.
func (c *Client) signatureKey(ctx context.Context, cs *suite.Suite) (priv, pub []byte, err error) {
	key := Key{Kind: KindKeys, Name: signatureKeyName(cs.ID())}
	b, err := c.st.Get(ctx, key)
	switch {
	case err == nil:
		var rec sigKeyRecord
		if err := codec.Unmarshal(b, &rec); err != nil {
			return nil, nil, fmt.Errorf("signature key: %w: %w", ErrCorrupt, err)
		}
		return rec.Priv, rec.Pub, nil
	case !errors.Is(err, ErrNotFound):
		return nil, nil, fmt.Errorf("signature key: %w", err)
	}
	priv, pub, err = cs.GenerateSignatureKey()
	if err != nil {
		return nil, nil, fmt.Errorf("signature key: %w", err)
	}
	batch := &Batch{Op: "CreateSignatureKey", Puts: []Put{{Key: key, Value: codec.Marshal(sigKeyRecord{priv, pub})}}}
	if err := c.st.Apply(ctx, batch); err != nil {
		return nil, nil, fmt.Errorf("store signature key: %w", err)
	}
	return priv, pub, nil
}

// SignaturePublicKey returns the client's signature public key for suite id,
// creating the key pair if needed.
func (c *Client) SignaturePublicKey(ctx context.Context, id suite.ID) ([]byte, error) {
	cs, err := c.opts.Suites.Get(id)
	if err != nil {
		return nil, fmt.Errorf("signature public key: %w", typed(err))
	}
	_, pub, err := c.signatureKey(ctx, cs)
	return pub, err
}

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
	sigPriv, sigPub, err := c.signatureKey(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("create key package: %w", err)
	}
	now := c.opts.now()
	if c.opts.Now == nil {
		now = timeNow()
	}
	kp, sec, err := newKeyPackage(cs, c.identity, sigPriv, sigPub, now)
	if err != nil {
		return nil, fmt.Errorf("create key package: %w", err)
	}
	sec.LastResort = lastResort
	ref := wire.MakeKeyPackageRef(hashFunc(cs), sec.KeyPackage)
	msg := codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatKeyPackage, KeyPackage: kp})
	batch := &Batch{Op: "CreateKeyPackage", Puts: []Put{{Key: Key{Kind: KindKeys, Name: keyPackageName(ref)}, Value: codec.Marshal(sec)}}}
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
