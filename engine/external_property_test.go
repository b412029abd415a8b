package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// subset returns the elements of all that r picks, each with probability
// one half.
func subset[T any](r *rand.Rand, all []T) []T {
	var out []T
	for _, v := range all {
		if r.IntN(2) == 0 {
			out = append(out, v)
		}
	}
	return out
}

// TestExternalJoinSucceedsEverywhereOrIsRefusedByJoiner is the property of
// issue 14: for random required capabilities (credential, extension and
// proposal types, default ones, ones this engine implements and ones it
// does not), a group created by a client that supports them (as an
// OpenMLS-based one may), with or without a second member of this engine,
// and a joiner of random capabilities and credential, an external join
// either is refused by the joiner itself, with ErrUnsupported and nothing
// stored, or every member accepts its commit and all agree.
func TestExternalJoinSucceedsEverywhereOrIsRefusedByJoiner(t *testing.T) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, seed>>1))
	ca := newTestCA(t, "root")
	trials := 60
	if testing.Short() {
		trials = 15
	}
	joined, refused := 0, 0
	for trial := range trials {
		id := suite1
		if trial > 1 && r.IntN(4) == 0 {
			id = suite.X448AES256GCMSHA512Ed448 // no x509 credentials
		}
		rc := wire.RequiredCapabilities{
			CredentialTypes: subset(r, []wire.CredentialType{wire.CredentialTypeBasic, wire.CredentialTypeX509}),
			ExtensionTypes:  subset(r, []wire.ExtensionType{wire.ExtensionApplicationID, wire.ExtensionExternalSenders}),
			ProposalTypes:   subset(r, []wire.ProposalType{wire.ProposalTypeReInit}),
		}
		// Types this engine does not implement, each in one trial of five,
		// and in the second trial for sure; the first has none.
		if trial == 1 || (trial > 1 && r.IntN(5) == 0) {
			rc.CredentialTypes = append(rc.CredentialTypes, 0xf0f0)
		}
		if trial > 1 && r.IntN(5) == 0 {
			rc.ExtensionTypes = append(rc.ExtensionTypes, 0xff00)
		}
		if trial > 1 && r.IntN(5) == 0 {
			rc.ProposalTypes = append(rc.ProposalTypes, 0xff01)
		}
		var creds []CredentialType
		switch r.IntN(3) * min(trial, 1) {
		case 1:
			creds = []CredentialType{CredentialBasic}
		case 2:
			creds = []CredentialType{CredentialBasic, CredentialX509}
		}
		caps := Capabilities{Credentials: creds, Extensions: subset(r, []uint16{0x0a0a, 0x5a5a}), Proposals: subset(r, []uint16{0xeaea})}
		if len(caps.Credentials) > 0 && r.IntN(3) == 0 {
			caps.Credentials = append(caps.Credentials, 0x3a3a)
		}
		withX509 := creds == nil || len(creds) == 2
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d trial %d (suite %v, required %+v, joiner capabilities %+v): "+format, append([]any{seed, trial, id, rc, caps}, args...)...)
		}

		a := newMember("alice")
		var err error
		if a.g, err = a.client.CreateGroup(ctx, id, []byte("property")); err != nil {
			fail("%v", err)
		}
		openMLSStyleGroup(t, a, rc)
		members := []*member{a}
		if r.IntN(2) == 0 {
			b := newMember("bob")
			if out, err := a.g.Commit(ctx, CommitOptions{Add: [][]byte{b.keyPackage(t, id)}, Merge: true}); err == nil {
				if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
					fail("bob joins: %v", err)
				}
				members = append(members, b)
			} else if !errors.Is(err, ErrInvalidKeyPackage) {
				fail("add bob: %v", err)
			}
		}
		c := newMember("carol")
		opts := Options{Capabilities: caps}
		if cs, _ := suite.New(id); withX509 && cs.CertificateKeys() && r.IntN(2) == 0 {
			c = x509Member(t, "carol", issue(t, ca, id, "im:carol"), opts)
		} else {
			c.client = NewClient(c.st, []byte("carol"), opts)
		}
		gi, err := members[len(members)-1].g.GroupInfo(ctx, r.IntN(2) == 0)
		if err != nil {
			fail("%v", err)
		}
		var tree []byte
		if _, ok := mustParseGroupInfo(t, gi).Extensions.Find(wire.ExtensionRatchetTree); !ok {
			tree = members[0].g.s.tree.Encode()
		}
		before := c.st.Dump()
		g, commit, err := c.client.JoinByExternalCommit(ctx, gi, tree, nil)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				fail("the joiner refused with %v, want ErrUnsupported", err)
			}
			if !sameDump(before, c.st.Dump()) {
				fail("the refused join changed the joiner's storage")
			}
			refused++
			continue
		}
		c.g = g
		for _, m := range members {
			if _, err := m.g.Process(ctx, commit); err != nil {
				fail("the joiner stored epoch %d, but %s rejects its commit: %v", g.Epoch(), m.name, err)
			}
		}
		agree(t, append(members, c)...)
		sendAndCheck(t, c, "joined", members...)
		joined++
	}
	t.Logf("seed %d: %d joins accepted everywhere, %d refused by the joiner", seed, joined, refused)
	if joined == 0 || refused == 0 {
		t.Errorf("seed %d: %d joined, %d refused: the trials did not cover both outcomes", seed, joined, refused)
	}
}

// mustParseGroupInfo decodes a GroupInfo MLSMessage.
func mustParseGroupInfo(t *testing.T, msg []byte) *wire.GroupInfo {
	t.Helper()
	m, err := wire.ParseMLSMessage(msg, 0)
	if err != nil || m.GroupInfo == nil {
		t.Fatalf("group info: %v", err)
	}
	return m.GroupInfo
}
