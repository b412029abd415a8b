package engine

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// TestKeyPackageValidation checks ValidateKeyPackage and KeyPackageRef on
// good, tampered and malformed KeyPackages.
func TestKeyPackageValidation(t *testing.T) {
	ctx := context.Background()
	m := newMember("kp")
	kp, err := m.client.CreateKeyPackage(ctx, suite1, false)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(kp)
	tampered[len(tampered)-10] ^= 1
	expired := time.Now().Add(200 * 24 * time.Hour)
	for _, c := range []struct {
		name string
		kp   []byte
		now  time.Time
		want error
	}{
		{"valid", kp, time.Now(), nil},
		{"tampered signature", tampered, time.Time{}, ErrBadSignature},
		{"garbage", []byte{1, 2, 3}, time.Time{}, ErrMalformed},
		{"expired", kp, expired, ErrInvalidKeyPackage},
	} {
		err := ValidateKeyPackage(c.kp, c.now)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	ref, err := KeyPackageRef(kp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.client.loadKeyPackage(ctx, ref); err != nil {
		t.Fatalf("stored key package not found under its ref: %v", err)
	}
	pub, err := m.client.SignaturePublicKey(ctx, suite1)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := decodeKeyPackage(kp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(parsed.LeafNode.SignatureKey, pub) || !bytes.Equal(parsed.LeafNode.Credential.Identity, m.client.Identity()) {
		t.Fatal("key package does not carry the client's signature key and identity")
	}
}

// TestAddByProposal adds members through a member's Add proposal and an
// external sender's Add proposal, committed by reference.
func TestAddByProposal(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	cs, _ := suite.New(suite1)
	dsPriv, dsPub, err := cs.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	commitAndDeliver(t, a, CommitOptions{ExternalSenders: []ExternalSender{{SignatureKey: dsPub, Identity: []byte("ds")}}}, b)
	c, d := newMember("carol"), newMember("dave")
	prop, err := b.g.ProposeAdd(ctx, c.keyPackage(t, suite1))
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, prop, a)
	ext, err := ExternalProposeAdd(suite1, dsPriv, a.g.GroupID(), a.g.Epoch(), 0, d.keyPackage(t, suite1))
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, ext, a, b)
	out := commitAndDeliver(t, a, CommitOptions{}, b)
	for _, m := range []*member{c, d} {
		if m.g, err = m.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	agree(t, a, b, c, d)
	if got := a.g.CipherSuite(); got != uint16(suite1) {
		t.Fatalf("cipher suite %d", got)
	}
}
