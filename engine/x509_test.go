package engine

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// TestX509MemberLifecycle: in every suite whose keys certificates carry, a
// group whose creator requires credential types basic and x509
// (CommitOptions.RequiredCapabilities) takes in a
// member with an X.509 credential (chain through an intermediate, checked
// against the creator's roots), who sends, commits and is removed; a
// second one joins by external commit. Members see the certificate's
// subject alternative name as identity.
func TestX509MemberLifecycle(t *testing.T) {
	for _, id := range x509Suites() {
		t.Run(id.String(), func(t *testing.T) {
			ctx := context.Background()
			ca := newTestCA(t, "root")
			inter := ca.Intermediate(t, "members")
			opts := Options{Authentication: DefaultAuthenticationService{Roots: ca.Pool()}}
			a := newMember("alice")
			a.client = NewClient(a.st, []byte("alice"), opts)
			var err error
			if a.g, err = a.client.CreateGroup(ctx, id, []byte("x509")); err != nil {
				t.Fatal(err)
			}
			required := &RequiredCapabilities{Credentials: []CredentialType{CredentialBasic, CredentialX509}}
			if _, err := a.g.Commit(ctx, CommitOptions{RequiredCapabilities: required, Merge: true}); err != nil {
				t.Fatalf("require basic and x509: %v", err)
			}
			b := x509Member(t, "bob", issue(t, inter, id, "im:bob@example.com"), opts)
			out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, id)}})
			if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
				t.Fatal(err)
			}
			agree(t, a, b)
			if rc, _ := requiredCapabilities(b.g.s.gc.Extensions); rc == nil || len(rc.CredentialTypes) != 2 {
				t.Fatalf("bob's group context requires %+v, want basic and x509", rc)
			}
			ms := a.g.Members()
			if len(ms) != 2 || string(ms[1].Identity) != "im:bob@example.com" || ms[1].CredentialType != CredentialX509 {
				t.Fatalf("members %+v, want bob's x509 credential naming im:bob@example.com", ms)
			}
			sendAndCheck(t, b, "hello from a certificate", a)
			commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a)
			agree(t, a, b)
			sendAndCheck(t, a, "after bob's commit", b)

			c := x509Member(t, "carol", issue(t, inter, id, "im:carol@example.com"), opts)
			gi, err := b.g.GroupInfo(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			g, commit, err := c.client.JoinByExternalCommit(ctx, gi, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.g = g
			deliver(t, commit, a, b)
			agree(t, a, b, c)
			sendAndCheck(t, c, "carol here", a, b)

			rs := deliver(t, commitAndDeliver(t, a, CommitOptions{Remove: []uint32{b.g.OwnIndex()}}, c).Commit, b)
			if !rs[0].Commit.SelfRemoved || string(rs[0].Commit.Removed[0].Identity) != "im:bob@example.com" {
				t.Fatalf("bob's removal: %+v", rs[0].Commit)
			}
			agree(t, a, c)
			reload(t, c)
			sendAndCheck(t, c, "after reload", a)
		})
	}
}

// TestX509CredentialRefused: a KeyPackage whose x509 credential does not
// verify against the committer's roots, has expired, does not parse, or
// whose certificate holds another key than the leaf's is refused with
// ErrBadCredential, and the commit is not made.
func TestX509CredentialRefused(t *testing.T) {
	ctx := context.Background()
	ca, other := newTestCA(t, "root"), newTestCA(t, "other")
	opts := Options{Authentication: DefaultAuthenticationService{Roots: ca.Pool()}}
	cs, err := suite.New(suite1)
	if err != nil {
		t.Fatal(err)
	}
	forged := func(cred wire.Credential) []byte {
		sigPriv, sigPub, err := cs.GenerateSignatureKey()
		if err != nil {
			t.Fatal(err)
		}
		kp, _, err := newKeyPackage(cs, cred, testCaps(t, cs, cred.CredentialType), sigPriv, sigPub, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatKeyPackage, KeyPackage: kp})
	}
	x509Cred := func(c *X509Credential) wire.Credential {
		return wire.Credential{CredentialType: wire.CredentialTypeX509, Certificates: c.Chain}
	}
	tests := []struct {
		name string
		kp   func() []byte
	}{
		{"unknown issuer", func() []byte {
			return x509Member(t, "eve", issue(t, other, suite1, "im:eve"), opts).keyPackage(t, suite1)
		}},
		{"expired", func() []byte {
			return x509Member(t, "old", issue(t, ca, suite1, "im:old", func(c *x509.Certificate) {
				c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
			}), opts).keyPackage(t, suite1)
		}},
		{"another key", func() []byte { return forged(x509Cred(issue(t, ca, suite1, "im:mallory"))) }},
		{"garbage certificate", func() []byte {
			return forged(wire.Credential{CredentialType: wire.CredentialTypeX509, Certificates: [][]byte{[]byte("not a certificate")}})
		}},
		{"no certificate", func() []byte {
			return forged(wire.Credential{CredentialType: wire.CredentialTypeX509, Certificates: [][]byte{}})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newMember("alice")
			a.client = NewClient(a.st, []byte("alice"), opts)
			if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("g")); err != nil {
				t.Fatal(err)
			}
			before := a.st.Dump()
			_, err := a.g.Commit(ctx, CommitOptions{Add: [][]byte{tc.kp()}})
			if !errors.Is(err, ErrBadCredential) {
				t.Fatalf("add: got %v, want ErrBadCredential", err)
			}
			if !sameDump(before, a.st.Dump()) || a.g.HasPendingCommit() {
				t.Fatal("refused add changed the group")
			}
		})
	}
	if err := ValidateKeyPackage(forged(x509Cred(issue(t, ca, suite1, "im:mallory"))), time.Time{}); !errors.Is(err, ErrBadCredential) {
		t.Errorf("ValidateKeyPackage of a certificate with another key: got %v, want ErrBadCredential", err)
	}
}

// TestX509WelcomeTreeAuthenticated: a new member authenticates every
// member of the tree it receives; with roots that do not cover a member's
// chain the Welcome is refused and nothing is stored.
func TestX509WelcomeTreeAuthenticated(t *testing.T) {
	ctx := context.Background()
	ca, other := newTestCA(t, "root"), newTestCA(t, "other")
	a := x509Member(t, "alice", issue(t, ca, suite1, "im:alice"), Options{})
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("g")); err != nil {
		t.Fatal(err)
	}
	d := newMember("dave")
	d.client = NewClient(d.st, []byte("dave"), Options{Authentication: DefaultAuthenticationService{Roots: other.Pool()}})
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{d.keyPackage(t, suite1)}})
	before := d.st.Dump()
	if _, err := d.client.JoinFromWelcome(ctx, out.Welcome, nil); !errors.Is(err, ErrInvalidWelcome) || !errors.Is(err, ErrBadCredential) {
		t.Fatalf("join with roots that do not cover alice: got %v, want ErrInvalidWelcome and ErrBadCredential", err)
	}
	if !sameDump(before, d.st.Dump()) {
		t.Fatal("refused join changed storage")
	}
	// Without roots the chain is checked on its own and accepted.
	e := newMember("erin")
	out = commitAndDeliver(t, a, CommitOptions{Add: [][]byte{e.keyPackage(t, suite1)}})
	if e.g, err = e.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatalf("join without roots: %v", err)
	}
}

// recordingAS records the credentials it is asked about and refuses the
// identity refuse.
type recordingAS struct {
	mu     sync.Mutex
	seen   []string
	refuse string
}

func (r *recordingAS) Authenticate(_ context.Context, cred Credential, _ []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, string(cred.Identity()))
	if string(cred.Identity()) == r.refuse {
		return errors.New("refused by policy")
	}
	return nil
}

func (r *recordingAS) Successor(ctx context.Context, prev, next Credential) error {
	return DefaultAuthenticationService{}.Successor(ctx, prev, next)
}

func (r *recordingAS) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = nil
	return out
}

// TestAuthenticationServiceCalledForEveryNewCredential: the configured
// service sees every credential that enters the group (the KeyPackage of
// an add, the members of a received tree except the joiner itself, an
// external joiner's leaf) and none that did not change (a self-update),
// and its refusal stops the add and the external join.
func TestAuthenticationServiceCalledForEveryNewCredential(t *testing.T) {
	ctx := context.Background()
	asA, asB := &recordingAS{refuse: "mallory"}, &recordingAS{}
	a, b := newMember("alice"), newMember("bob")
	a.client = NewClient(a.st, []byte("alice"), Options{Authentication: asA})
	b.client = NewClient(b.st, []byte("bob"), Options{Authentication: asB})
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("g")); err != nil {
		t.Fatal(err)
	}
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, suite1)}})
	if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	if got := asA.take(); len(got) != 1 || got[0] != "bob" {
		t.Errorf("alice's service on adding bob: %q, want [bob]", got)
	}
	if got := asB.take(); len(got) != 1 || got[0] != "alice" {
		t.Errorf("bob's service on joining: %q, want [alice]", got)
	}
	commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a)
	if got := asA.take(); len(got) != 0 {
		t.Errorf("alice's service on bob's self-update: %q, want none", got)
	}
	m := newMember("mallory")
	if _, err := a.g.Commit(ctx, CommitOptions{Add: [][]byte{m.keyPackage(t, suite1)}}); !errors.Is(err, ErrBadCredential) {
		t.Fatalf("add refused by policy: got %v, want ErrBadCredential", err)
	}
	asA.take()
	gi, err := b.g.GroupInfo(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	_, commit, err := m.client.JoinByExternalCommit(ctx, gi, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.g.Process(ctx, commit); !errors.Is(err, ErrInvalidCommit) || !errors.Is(err, ErrBadCredential) {
		t.Fatalf("external join refused by policy: got %v, want ErrInvalidCommit and ErrBadCredential", err)
	}
	if got := asA.take(); len(got) != 1 || got[0] != "mallory" {
		t.Errorf("alice's service on mallory's external commit: %q, want [mallory]", got)
	}
	if _, err := b.g.Process(ctx, commit); err != nil {
		t.Fatalf("bob, whose policy accepts mallory: %v", err)
	}
}

// TestX509ResyncComparesIdentities: checkResync compares credentials
// through the authentication service, so a member with an X.509
// credential who lost its state re-joins with a new certificate and key
// naming the same identity, removing its old leaf; a certificate naming
// another identity may not remove it.
func TestX509ResyncComparesIdentities(t *testing.T) {
	ctx := context.Background()
	ca := newTestCA(t, "root")
	opts := Options{Authentication: DefaultAuthenticationService{Roots: ca.Pool()}}
	a := x509Member(t, "alice", issue(t, ca, suite1, "im:alice"), opts)
	b := x509Member(t, "bob", issue(t, ca, suite1, "im:bob"), opts)
	var err error
	if a.g, err = a.client.CreateGroup(ctx, suite1, []byte("g")); err != nil {
		t.Fatal(err)
	}
	out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, suite1)}})
	if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
		t.Fatal(err)
	}
	old := b.g.OwnIndex()
	gi, err := a.g.GroupInfo(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	mallory := x509Member(t, "mallory", issue(t, ca, suite1, "im:mallory"), opts)
	if _, _, err := mallory.client.JoinByExternalCommit(ctx, gi, nil, &old); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("mallory removing bob's leaf: got %v, want ErrInvalidCommit", err)
	}
	bob2 := x509Member(t, "bob again", issue(t, ca, suite1, "im:bob"), opts)
	g, commit, err := bob2.client.JoinByExternalCommit(ctx, gi, nil, &old)
	if err != nil {
		t.Fatalf("bob re-joins with a new certificate: %v", err)
	}
	bob2.g = g
	rs := deliver(t, commit, a)
	if ci := rs[0].Commit; len(ci.Removed) != 1 || ci.Removed[0].Index != old {
		t.Fatalf("resync removed %+v, want leaf %d", ci.Removed, old)
	}
	agree(t, a, bob2)
}

// TestCredentialIdentity: the identity of an x509 credential is its first
// URI, DNS name or e-mail subject alternative name, else its subject.
func TestCredentialIdentity(t *testing.T) {
	ca := newTestCA(t, "root")
	u, _ := url.Parse("im:uri")
	tests := []struct {
		name string
		mod  func(*x509.Certificate)
		want string
	}{
		{"uri", func(c *x509.Certificate) { c.URIs = []*url.URL{u}; c.DNSNames = []string{"dns.example"} }, "im:uri"},
		{"dns", func(c *x509.Certificate) {
			c.URIs = nil
			c.DNSNames = []string{"dns.example"}
			c.EmailAddresses = []string{"a@b"}
		}, "dns.example"},
		{"email", func(c *x509.Certificate) { c.URIs = nil; c.EmailAddresses = []string{"a@b"} }, "a@b"},
		{"subject", func(c *x509.Certificate) {
			c.URIs = nil
			c.Subject = pkix.Name{CommonName: "Bob", Organization: []string{"Example"}}
		}, "CN=Bob,O=Example"},
	}
	for _, tc := range tests {
		cred := issue(t, ca, suite1, "im:x", tc.mod)
		got := Credential{Type: CredentialX509, Chain: cred.Chain}.Identity()
		if string(got) != tc.want {
			t.Errorf("%s: identity %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := (Credential{Type: CredentialBasic, Basic: []byte{0, 0xff}}).Identity(); !bytes.Equal(got, []byte{0, 0xff}) {
		t.Errorf("basic identity %x", got)
	}
	if got := (Credential{Type: CredentialX509, Chain: [][]byte{{1}}}).Identity(); got != nil {
		t.Errorf("identity of a certificate that does not parse: %q", got)
	}
}

// TestParseX509CredentialPEM reads chains with PKCS #8 and SEC 1 keys and
// refuses a key of another certificate.
func TestParseX509CredentialPEM(t *testing.T) {
	ca := newTestCA(t, "root")
	inter := ca.Intermediate(t, "inter")
	chainPEM := func(c *X509Credential) []byte {
		var b bytes.Buffer
		for _, der := range c.Chain {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
		}
		return b.Bytes()
	}
	pkcs8 := func(c *X509Credential) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(c.Key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	ed := issue(t, inter, suite1, "im:ed")
	got, err := ParseX509CredentialPEM(chainPEM(ed), pkcs8(ed))
	if err != nil || len(got.Chain) != 2 || !bytes.Equal(got.Chain[0], ed.Chain[0]) {
		t.Fatalf("ed25519 with PKCS #8: %v", err)
	}
	p256 := issue(t, ca, suite.P256AES128GCMSHA256P256, "im:p256")
	sec1, err := x509.MarshalECPrivateKey(p256.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseX509CredentialPEM(chainPEM(p256), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})); err != nil {
		t.Errorf("P-256 with SEC 1: %v", err)
	}
	if _, err := ParseX509CredentialPEM(chainPEM(ed), pkcs8(p256)); err == nil || !strings.Contains(err.Error(), "not the first certificate's") {
		t.Errorf("key of another certificate: got %v", err)
	}
	if _, err := ParseX509CredentialPEM([]byte("no pem"), pkcs8(ed)); err == nil {
		t.Error("chain without a certificate accepted")
	}
}
