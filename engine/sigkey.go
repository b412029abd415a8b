package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

func signatureKeyName(id suite.ID) string { return fmt.Sprintf("signature_%04x", uint16(id)) }

type sigKeyRecord struct{ Priv, Pub []byte }

func (s sigKeyRecord) MarshalTLS(w *codec.Writer) { w.Opaque(s.Priv); w.Opaque(s.Pub) }
func (s *sigKeyRecord) UnmarshalTLS(r *codec.Reader) {
	s.Priv = r.Opaque()
	s.Pub = r.Opaque()
}

// signatureKey returns the signature key pair of the client's credential
// for cs: its certificate's key, or the basic one (see
// [Client.basicSignatureKey], whose Put it returns).
func (c *Client) signatureKey(ctx context.Context, cs *suite.Suite) (priv, pub []byte, put []Put, err error) {
	if c.x509 != nil {
		priv, pub, err = cs.ImportSignaturePrivateKey(c.x509.Key)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("signature key: the certificate's key does not fit suite %#04x: %w: %w", uint16(cs.ID()), ErrUnsupported, err)
		}
		return priv, pub, nil, nil
	}
	return c.basicSignatureKey(ctx, cs)
}

// basicSignatureKey returns the signature key pair for cs of the client's
// basic credentials. A key not stored yet is generated once and kept in
// memory; put then stores it, and the caller writes put in the batch of
// the transition that first uses the key, so that an operation that
// fails leaves no key behind, and concurrent first uses get the same key.
func (c *Client) basicSignatureKey(ctx context.Context, cs *suite.Suite) (priv, pub []byte, put []Put, err error) {
	key := Key{Kind: KindKeys, Name: signatureKeyName(cs.ID())}
	b, err := c.st.Get(ctx, key)
	switch {
	case err == nil:
		var rec sigKeyRecord
		if err := codec.Unmarshal(b, &rec); err != nil {
			return nil, nil, nil, fmt.Errorf("signature key: %w: %w", ErrCorrupt, err)
		}
		return rec.Priv, rec.Pub, nil, nil
	case !errors.Is(err, ErrNotFound):
		return nil, nil, nil, fmt.Errorf("signature key: %w", err)
	}
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	rec, ok := c.newKeys[cs.ID()]
	if !ok {
		if rec.Priv, rec.Pub, err = cs.GenerateSignatureKey(); err != nil {
			return nil, nil, nil, fmt.Errorf("signature key: %w", err)
		}
		if c.newKeys == nil {
			c.newKeys = map[suite.ID]sigKeyRecord{}
		}
		c.newKeys[cs.ID()] = rec
	}
	return rec.Priv, rec.Pub, []Put{{Key: key, Value: codec.Marshal(rec)}}, nil
}

// SignaturePublicKey returns the client's signature public key for suite id:
// its certificate's for an X.509 client; for a basic one the stored key,
// created and stored if needed.
func (c *Client) SignaturePublicKey(ctx context.Context, id suite.ID) ([]byte, error) {
	cs, err := c.opts.Suites.Get(id)
	if err != nil {
		return nil, fmt.Errorf("signature public key: %w", typed(err))
	}
	_, pub, put, err := c.signatureKey(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("signature public key: %w", err)
	}
	if len(put) > 0 {
		if err := c.st.Apply(ctx, &Batch{Op: "CreateSignatureKey", Puts: put}); err != nil {
			return nil, fmt.Errorf("store signature key: %w", err)
		}
	}
	return pub, nil
}
