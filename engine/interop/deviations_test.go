package interop

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// The tests here pin down the encodings in which ts-mls 1.6.4 departs from
// RFC 9420. For two of them the interop peer substitutes the RFC's encoding
// (see internal/tsmls/peer.mjs), and the engine must refuse ts-mls's own with
// a typed error, not accept it or crash. The third (external_senders) cannot
// be worked around from outside ts-mls, so external senders do not
// interoperate with ts-mls 1.6.4.

// TestTSMLSDefaultECDSAKeys: ts-mls generates ECDSA signature keys as
// compressed SEC1 points (its @noble/curves default), while RFC 9420 §5.1.1
// requires the uncompressed point. KeyPackages with ts-mls's own keys must be
// rejected for the ECDSA suites, and those with the peer's uncompressed keys
// accepted; Ed25519 and Ed448 keys have one encoding and pass either way.
func TestTSMLSDefaultECDSAKeys(t *testing.T) {
	t.Parallel()
	ecdsa := map[suite.ID]bool{
		suite.ID(2): true, // P-256
		suite.ID(5): true, // P-521
		suite.ID(7): true, // P-384
	}
	p := startPeer(t)
	for _, id := range suite.All() {
		for _, defaultKeys := range []bool{false, true} {
			t.Run(fmt.Sprintf("suite=%d/default_keys=%t", uint16(id), defaultKeys), func(t *testing.T) {
				name := fmt.Sprintf("kp-%d-%t", id, defaultKeys)
				p.must(t, peerRequest{Op: "new_client", Client: name, Suite: uint16(id), Identity: []byte(name)})
				kp := p.must(t, peerRequest{Op: "key_package", Client: name, DefaultKeys: defaultKeys}).KeyPackage
				err := engine.ValidateKeyPackage(kp, time.Now())
				wantReject := defaultKeys && ecdsa[id]
				if gotReject := err != nil; gotReject != wantReject {
					t.Fatalf("ValidateKeyPackage = %v, want rejected %t", err, wantReject)
				}
				if wantReject && !errors.Is(err, engine.ErrInvalidKeyPackage) && !errors.Is(err, engine.ErrBadSignature) {
					t.Fatalf("ValidateKeyPackage = %v, want it to wrap ErrInvalidKeyPackage or ErrBadSignature", err)
				}
			})
		}
	}
}

// TestTSMLSDefaultExternalPub: ts-mls puts the bare HPKE key in the
// external_pub extension, where RFC 9420 §12.4.3.2 has an ExternalPub struct
// (the key as opaque<V>). The engine must refuse to join by external commit
// from such a GroupInfo with a typed error, and join from the peer's
// RFC-encoded GroupInfo of the same epoch.
func TestTSMLSDefaultExternalPub(t *testing.T) {
	t.Parallel()
	id := suite.X25519AES128GCMSHA256Ed25519
	p := startPeer(t)
	alice := newTSMember(t, p, "alice", id, false)
	alice.createGroup(t, []byte("external pub"))
	for _, c := range []struct {
		name            string
		defaultEncoding bool
		wantErr         error
	}{
		{"ts-mls encoding", true, engine.ErrMalformed},
		{"RFC encoding", false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			gi := p.must(t, peerRequest{Op: "group_info", Client: alice.name, DefaultEncoding: c.defaultEncoding}).GroupInfo
			st := engine.NewMemStorage()
			client := engine.NewClient(st, []byte("bob"), engine.Options{})
			_, commit, err := client.JoinByExternalCommit(context.Background(), gi, nil, nil)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && len(commit) == 0) {
				t.Fatalf("JoinByExternalCommit = %d-byte commit, %v; want error %v", len(commit), err, c.wantErr)
			}
			if c.wantErr != nil {
				if groups, err := st.Groups(context.Background()); err != nil || len(groups) != 0 {
					t.Fatalf("failed external join stored groups %x (%v)", groups, err)
				}
			}
		})
	}
}

// TestTSMLSExternalSendersEncoding: RFC 9420 §12.1.8.1 makes the
// external_senders extension one vector of ExternalSender structs; ts-mls
// reads it as a single bare ExternalSender (one extension per sender). A
// commit of the engine's GroupContextExtensions proposal listing an external
// sender is accepted by a second engine member and refused by ts-mls.
func TestTSMLSExternalSendersEncoding(t *testing.T) {
	t.Parallel()
	id := suite.X25519AES128GCMSHA256Ed25519
	s, err := suite.New(id)
	if err != nil {
		t.Fatal(err)
	}
	_, dsPub, err := s.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	p := startPeer(t)
	alice := newTSMember(t, p, "alice", id, false)
	bob := newGoMember("bob", id, false, nil)
	dave := newGoMember("dave", id, false, nil)
	groupID := make([]byte, 16)
	if _, err := rand.Read(groupID); err != nil {
		t.Fatal(err)
	}
	alice.createGroup(t, groupID)
	_, welcome := alice.commit(t, tsCommit{add: [][]byte{bob.KeyPackage(t), dave.KeyPackage(t)}})
	bob.Join(t, welcome)
	dave.Join(t, welcome)
	agree(t, "bob and dave joined", 1, map[uint32]string{0: "alice", 1: "bob", 2: "dave"}, alice, bob, dave)

	commit, _ := bob.commit(t, engine.CommitOptions{
		ExternalSenders: []engine.ExternalSender{{SignatureKey: dsPub, Identity: []byte("delivery service")}},
	})
	deliver(t, commit, "commit", dave)
	agree(t, "engine members took the external sender", 2, map[uint32]string{0: "alice", 1: "bob", 2: "dave"}, bob, dave)
	r, err := alice.Process(commit)
	if err == nil {
		t.Fatalf("ts-mls processed the RFC-encoded external_senders commit (%+v): has it been fixed? Then test external senders end to end", r)
	}
	if !strings.Contains(err.Error(), "decode external_senders") {
		t.Fatalf("ts-mls refused the commit with %v, want its external_senders decoding error", err)
	}
	if v := alice.View(t); v.Epoch != 1 {
		t.Fatalf("ts-mls alice at epoch %d after refusing the commit, want 1", v.Epoch)
	}
}
