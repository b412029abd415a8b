package engine

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// leafCaps returns the capabilities of the leaf of KeyPackage kp.
func leafCaps(t *testing.T, kp []byte) wire.Capabilities {
	t.Helper()
	parsed, _, err := decodeKeyPackage(kp)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.LeafNode.Capabilities
}

// TestEveryAdvertisedCapabilityWorks: by default a KeyPackage advertises
// what the engine implements for its suite (basic, and x509 where the
// suite's keys fit certificates; no non-default extension or proposal).
// For every credential type advertised, a member presenting it joins a
// group whose creator requires exactly that type, sends and commits.
func TestEveryAdvertisedCapabilityWorks(t *testing.T) {
	ctx := context.Background()
	ca := newTestCA(t, "root")
	for _, id := range suite.All() {
		cs, err := suite.New(id)
		if err != nil {
			t.Fatal(err)
		}
		caps := leafCaps(t, newMember("probe").keyPackage(t, id))
		want := []wire.CredentialType{wire.CredentialTypeBasic}
		if cs.CertificateKeys() {
			want = append(want, wire.CredentialTypeX509)
		}
		if !slices.Equal(caps.Credentials, want) || len(caps.Extensions) != 0 || len(caps.Proposals) != 0 ||
			!slices.Equal(caps.CipherSuites, []wire.CipherSuite{wire.CipherSuite(id)}) {
			t.Fatalf("%v: default capabilities %+v, want credentials %v and nothing else", id, caps, want)
		}
		for _, ct := range caps.Credentials {
			var b *member
			switch ct {
			case wire.CredentialTypeBasic:
				b = newMember("bob")
			case wire.CredentialTypeX509:
				b = x509Member(t, "bob", issue(t, ca, id, "im:bob"), Options{})
			default:
				t.Fatalf("%v: credential type %d advertised, and this test cannot present it", id, ct)
			}
			a := newMember("alice")
			if a.g, err = a.client.CreateGroup(ctx, id, []byte("caps")); err != nil {
				t.Fatal(err)
			}
			openMLSStyleGroup(t, a, wire.RequiredCapabilities{CredentialTypes: []wire.CredentialType{ct}})
			out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, id)}})
			if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
				t.Fatalf("%v, credential type %d: %v", id, ct, err)
			}
			sendAndCheck(t, b, "hi", a)
			commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a)
			agree(t, a, b)
		}
	}
}

// TestConfiguredCapabilities: Options.Capabilities narrows what a client
// advertises; such a client is refused by a group requiring what it left
// out (by the committer when added, by itself when joining externally),
// and GREASE values it lists are sent and ignored by the other members.
func TestConfiguredCapabilities(t *testing.T) {
	ctx := context.Background()
	basicOnly := Options{Capabilities: Capabilities{Credentials: []CredentialType{CredentialBasic}}}
	b := newMember("bob")
	b.client = NewClient(b.st, []byte("bob"), basicOnly)
	kp := b.keyPackage(t, suite1)
	if got := leafCaps(t, kp).Credentials; !slices.Equal(got, []wire.CredentialType{wire.CredentialTypeBasic}) {
		t.Fatalf("advertised credentials %v, want basic only", got)
	}
	a := newMember("alice")
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("caps")); err != nil {
		t.Fatal(err)
	}
	openMLSStyleGroup(t, a, basicAndX509)
	if _, err := a.g.Commit(ctx, CommitOptions{Add: [][]byte{kp}}); !errors.Is(err, ErrInvalidKeyPackage) {
		t.Fatalf("add of a basic-only KeyPackage to a group requiring x509: got %v, want ErrInvalidKeyPackage", err)
	}
	gi, err := a.g.GroupInfo(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	before := b.st.Dump()
	if _, _, err := b.client.JoinByExternalCommit(ctx, gi, nil, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("external join of a basic-only client into a group requiring x509: got %v, want ErrUnsupported", err)
	}
	if !sameDump(before, b.st.Dump()) {
		t.Fatal("refused external join changed storage")
	}

	greasy := Options{Capabilities: Capabilities{
		Credentials: []CredentialType{CredentialBasic, 0x1a1a},
		Extensions:  []uint16{0x2a2a},
		Proposals:   []uint16{0x3a3a, 0xeaea},
	}}
	c := newMember("carol")
	c.client = NewClient(c.st, []byte("carol"), greasy)
	kp = c.keyPackage(t, suite1)
	caps := leafCaps(t, kp)
	if !slices.Contains(caps.Credentials, 0x1a1a) || !slices.Equal(caps.Extensions, []wire.ExtensionType{0x2a2a}) || !slices.Equal(caps.Proposals, []wire.ProposalType{0x3a3a, 0xeaea}) {
		t.Fatalf("GREASE capabilities not advertised: %+v", caps)
	}
	a2, d := twoMembers(t, Options{})
	out := commitAndDeliver(t, a2, CommitOptions{Add: [][]byte{kp}}, d)
	if c.g, err = c.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	commitAndDeliver(t, c, CommitOptions{SelfUpdate: true}, a2, d)
	agree(t, a2, c, d)
}

// TestCapabilitiesRefused: a client cannot advertise what the engine does
// not implement, default extension or proposal types, duplicates, or a
// list without its own credential type.
func TestCapabilitiesRefused(t *testing.T) {
	ctx := context.Background()
	ca := newTestCA(t, "root")
	for _, tc := range []struct {
		name string
		caps Capabilities
		x509 bool
	}{
		{"unknown credential type", Capabilities{Credentials: []CredentialType{CredentialBasic, 3}}, false},
		{"unimplemented extension", Capabilities{Extensions: []uint16{0x000a}}, false},
		{"default extension", Capabilities{Extensions: []uint16{uint16(wire.ExtensionRatchetTree)}}, false},
		{"unimplemented proposal", Capabilities{Proposals: []uint16{0x0008}}, false},
		{"default proposal", Capabilities{Proposals: []uint16{uint16(wire.ProposalTypeAdd)}}, false},
		{"duplicate", Capabilities{Proposals: []uint16{0x0a0a, 0x0a0a}}, false},
		{"without own type", Capabilities{Credentials: []CredentialType{CredentialX509}}, false},
		{"x509 client without x509", Capabilities{Credentials: []CredentialType{CredentialBasic}}, true},
		{"no credential type", Capabilities{Credentials: []CredentialType{}}, false},
	} {
		var m *member
		if tc.x509 {
			m = x509Member(t, "m", issue(t, ca, suite1, "im:m"), Options{Capabilities: tc.caps})
		} else {
			m = newMember("m")
			m.client = NewClient(m.st, []byte("m"), Options{Capabilities: tc.caps})
		}
		if _, err := m.client.CreateKeyPackage(ctx, suite1, false); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: got %v, want ErrUnsupported", tc.name, err)
		}
		if len(m.st.Dump()) != 0 {
			t.Errorf("%s: refused KeyPackage stored something", tc.name)
		}
	}
}

// TestIsGREASE lists the GREASE values of RFC 9420 §13.5.
func TestIsGREASE(t *testing.T) {
	var got []uint16
	for v := 0; v <= 0xffff; v++ {
		if IsGREASE(uint16(v)) {
			got = append(got, uint16(v))
		}
	}
	want := []uint16{0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea}
	if !slices.Equal(got, want) {
		t.Fatalf("GREASE values %#04x, want %#04x", got, want)
	}
}

// TestRequiredCapabilitiesCommit: a commit sets the group's
// required_capabilities, keeping its other extensions; requiring what a
// member does not support is refused and changes nothing.
func TestRequiredCapabilitiesCommit(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	dsKey := make([]byte, 32)
	commitAndDeliver(t, a, CommitOptions{ExternalSenders: []ExternalSender{{SignatureKey: dsKey, Identity: []byte("ds")}}}, b)
	rc := &RequiredCapabilities{Credentials: []CredentialType{CredentialBasic, CredentialX509}}
	commitAndDeliver(t, a, CommitOptions{RequiredCapabilities: rc}, b)
	for _, m := range []*member{a, b} {
		got, err := requiredCapabilities(m.g.s.gc.Extensions)
		if err != nil || got == nil || !slices.Equal(got.CredentialTypes, []wire.CredentialType{1, 2}) {
			t.Fatalf("%s: required capabilities %+v (%v)", m.name, got, err)
		}
		if es, err := externalSenders(m.g.s.gc.Extensions); err != nil || len(es) != 1 {
			t.Fatalf("%s: the external sender was not kept: %v %v", m.name, es, err)
		}
	}
	c := newMember("carol")
	c.client = NewClient(c.st, []byte("carol"), Options{Capabilities: Capabilities{Credentials: []CredentialType{CredentialBasic}}})
	if _, err := a.g.Commit(ctx, CommitOptions{Add: [][]byte{c.keyPackage(t, suite1)}}); !errors.Is(err, ErrInvalidKeyPackage) {
		t.Fatalf("add of a member without x509: got %v, want ErrInvalidKeyPackage", err)
	}
	before := a.st.Dump()
	if _, err := a.g.Commit(ctx, CommitOptions{RequiredCapabilities: &RequiredCapabilities{Extensions: []uint16{0xff00}}}); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("requiring an extension no member supports: got %v, want ErrInvalidProposal", err)
	}
	if !sameDump(before, a.st.Dump()) {
		t.Fatal("refused commit changed storage")
	}
}
