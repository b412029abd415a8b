package agent

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/wire"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/testcert"
)

// TestAgentX509Credential: an agent configured with an X.509 credential
// (mls.credential) joins a group of an agent that checks x509 chains
// against its roots (mls.x509_roots); members and senders show the
// certificate's URI; a KeyPackage can present the basic credential or
// another certificate given in the request; a certificate of another
// issuer is refused with bad_credential; the x509 member is removed by
// its identity.
func TestAgentX509Credential(t *testing.T) {
	ctx := ctxT(t)
	dir := shortTempDir(t)
	ca, other := testcert.NewCA(t, "members"), testcert.NewCA(t, "other")
	roots := ca.RootPEM(t, dir, "roots.pem")
	chain, key := ca.Issue(t, "im:bob@example.com").Files(t, dir, "bob")
	alice := newTestAgent(t, agentOpts{identity: "alice", edit: func(c *config.Config) { c.MLS.X509Roots = roots }})
	bob := newTestAgent(t, agentOpts{identity: "bob", edit: func(c *config.Config) {
		c.MLS.X509Roots = roots
		c.MLS.Credential = config.Credential{Type: config.CredentialX509, CertChain: chain, Key: key}
	}})
	gid := []byte("x509")
	twoMemberGroup(ctx, t, alice, bob, gid)
	info, err := alice.c.Info(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Members) != 2 || info.Members[1].Identity != "im:bob@example.com" || info.Members[1].CredentialType != "x509" ||
		info.Members[0].Identity != "alice" || info.Members[0].CredentialType != "basic" {
		t.Fatalf("alice sees members %+v, want alice (basic) and im:bob@example.com (x509)", info.Members)
	}
	sent, err := bob.c.Send(ctx, gid, SendRequest{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := alice.c.Receive(ctx, ReceiveRequest{Message: sent.Message})
	if err != nil || got.SenderIdentity != "im:bob@example.com" {
		t.Fatalf("alice receives %+v, %v; want a message from im:bob@example.com", got, err)
	}

	kpCred := func(kp []byte) engine.Credential {
		t.Helper()
		st := engine.NewMemStorage()
		cl := engine.NewClient(st, []byte("probe"), engine.Options{})
		g, err := cl.CreateGroup(ctx, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := g.Commit(ctx, engine.CommitOptions{Add: [][]byte{kp}, Merge: true})
		if err != nil || out == nil {
			t.Fatalf("probe add: %v", err)
		}
		ms := g.Members()
		return engine.Credential{Type: ms[1].CredentialType, Basic: ms[1].Identity}
	}
	basic, err := bob.c.KeyPackage(ctx, KeyPackageRequest{Credential: CredentialBasic})
	if err != nil {
		t.Fatal(err)
	}
	if c := kpCred(basic); c.Type != engine.CredentialBasic || string(c.Basic) != "bob" {
		t.Errorf("KeyPackage with credential basic presents %v %q", c.Type, c.Basic)
	}
	carol := ca.Issue(t, "im:carol@example.com")
	given, err := bob.c.KeyPackage(ctx, KeyPackageRequest{Credential: CredentialX509, CertChain: carol.ChainPEM, PrivateKey: carol.KeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	if c := kpCred(given); c.Type != engine.CredentialX509 || string(c.Basic) != "im:carol@example.com" {
		t.Errorf("KeyPackage with a given certificate presents %v %q", c.Type, c.Basic)
	}
	for _, req := range []KeyPackageRequest{
		{Credential: "x.509"},
		{CertChain: carol.ChainPEM, PrivateKey: carol.KeyPEM},
		{Credential: CredentialX509, CertChain: carol.ChainPEM, PrivateKey: ca.Issue(t, "im:x").KeyPEM},
	} {
		if _, err := bob.c.KeyPackage(ctx, req); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("KeyPackage(%q, chain %v): got %v, want invalid_argument", req.Credential, req.CertChain != nil, err)
		}
	}
	if _, err := alice.c.KeyPackage(ctx, KeyPackageRequest{Credential: CredentialX509}); !errors.Is(err, ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "mls.credential") {
		t.Errorf("x509 KeyPackage of an agent without an x509 credential: %v", err)
	}

	eve := other.Issue(t, "im:eve@example.com")
	evil, err := bob.c.KeyPackage(ctx, KeyPackageRequest{Credential: CredentialX509, CertChain: eve.ChainPEM, PrivateKey: eve.KeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *APIError
	if _, err := alice.c.Add(ctx, gid, AddRequest{KeyPackages: [][]byte{evil}}); !errors.As(err, &apiErr) || apiErr.Code != "bad_credential" {
		t.Fatalf("add of a certificate of another issuer: got %v, want bad_credential", err)
	}
	rm, err := alice.c.Remove(ctx, gid, RemoveRequest{Members: []string{"im:bob@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err = bob.c.Receive(ctx, ReceiveRequest{Message: rm.Commit})
	if err != nil || got.Commit == nil || !got.Commit.SelfRemoved || got.Commit.Removed[0].Identity != "im:bob@example.com" {
		t.Fatalf("bob receives his removal: %+v, %v", got, err)
	}
}

// TestDisplayIdentity: identities that are not printable UTF-8, or look
// like the hex form, are shown as hex, so no two identities show alike.
func TestDisplayIdentity(t *testing.T) {
	for _, tc := range []struct {
		id   []byte
		want string
	}{
		{[]byte("alice"), "alice"},
		{[]byte("Jürgen 🙂"), "Jürgen 🙂"},
		{[]byte{0, 1, 0xff}, "hex:0001ff"},
		{[]byte("tab\there"), "hex:7461620968657265"},
		{[]byte("hex:0001ff"), "hex:6865783a303030316666"},
		{[]byte{0xc3, 0x28}, "hex:c328"},
		{nil, ""},
	} {
		if got := displayIdentity(tc.id); got != tc.want {
			t.Errorf("displayIdentity(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// TestAgentCapabilities: mls.capabilities sets what the agent's
// KeyPackages advertise; by default everything the engine implements.
func TestAgentCapabilities(t *testing.T) {
	ctx := ctxT(t)
	caps := func(ta *testAgent) wire.Capabilities {
		t.Helper()
		kp, err := ta.c.KeyPackage(ctx, KeyPackageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		m, err := wire.ParseMLSMessage(kp, 0)
		if err != nil || m.KeyPackage == nil {
			t.Fatalf("parse KeyPackage: %v", err)
		}
		return m.KeyPackage.LeafNode.Capabilities
	}
	def := newTestAgent(t, agentOpts{identity: "default"})
	if got := caps(def); !slices.Equal(got.Credentials, []wire.CredentialType{wire.CredentialTypeBasic, wire.CredentialTypeX509}) ||
		len(got.Extensions) != 0 || len(got.Proposals) != 0 {
		t.Errorf("default capabilities %+v, want basic and x509", got)
	}
	narrow := newTestAgent(t, agentOpts{identity: "narrow", edit: func(c *config.Config) {
		c.MLS.Capabilities = config.Capabilities{Credentials: []string{"basic"}, Extensions: []uint16{0x0a0a}}
	}})
	if got := caps(narrow); !slices.Equal(got.Credentials, []wire.CredentialType{wire.CredentialTypeBasic}) ||
		!slices.Equal(got.Extensions, []wire.ExtensionType{0x0a0a}) {
		t.Errorf("configured capabilities %+v, want basic and the GREASE extension 0x0a0a", got)
	}
}
