package interop

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/testcert"
)

// TestTSMLSX509AndTreesOutOfBand runs, in every suite whose signature keys
// certificates carry (suite 1 only with -short), a group created the way
// OpenMLS-based messengers create theirs, with ts-mls as the creator:
//
//	epoch 0  alice (ts-mls) requires credential types basic and x509 and
//	         refuses a KeyPackage that advertises basic only
//	epoch 1  alice adds bob (engine, basic credential, KeyPackage advertising
//	         x509) with a Welcome that leaves the tree out; bob joins with
//	         the tree out of band
//	epoch 2  alice adds carol (engine, x509 credential)
//	epoch 3  carol refuses eve (ts-mls), whose certificate another CA
//	         issued, and adds dave (ts-mls, x509 credential, checked against
//	         the engine members' roots) with a Welcome without the tree;
//	         dave joins with the tree from carol
//	epoch 4  carol commits (a self-update)
//	epoch 5  erin (ts-mls) joins by external commit from bob's GroupInfo
//	         without the tree, given the tree beside it
//	epoch 6  frank (engine, x509) joins by external commit from alice's
//	         GroupInfo without the tree
//	epoch 7  alice removes carol, who learns it
//
// Every step ends with all members agreeing and exchanging messages.
func TestTSMLSX509AndTreesOutOfBand(t *testing.T) {
	t.Parallel()
	for _, id := range suites() {
		cs, err := suite.New(id)
		if err != nil {
			t.Fatal(err)
		}
		if !cs.CertificateKeys() {
			continue
		}
		t.Run(fmt.Sprintf("suite=%d", uint16(id)), func(t *testing.T) {
			t.Parallel()
			runX509(t, id)
		})
	}
}

func runX509(t *testing.T, id suite.ID) {
	ctx := context.Background()
	ca := testcert.NewCA(t, "members")
	opts := engine.Options{Authentication: engine.DefaultAuthenticationService{Roots: ca.Pool()}}
	p := startPeer(t)
	alice := newTSMember(t, p, "alice", id, false)
	bob := newGoMember("bob", id, false, nil)
	bob.opts.Authentication = opts.Authentication
	bob.client = engine.NewClient(bob.st, []byte("bob"), bob.opts)
	carol := newX509GoMember(t, ca, "im:carol", id, opts)

	groupID := make([]byte, 16)
	if _, err := rand.Read(groupID); err != nil {
		t.Fatal(err)
	}
	p.must(t, peerRequest{Op: "create_group", Client: alice.name, GroupID: groupID, RequiredCredentials: []string{"basic", "x509"}})
	// What the engine advertised before x509 credentials: ts-mls refuses.
	narrow := newGoMember("narrow", id, false, nil)
	narrow.client = engine.NewClient(narrow.st, []byte("narrow"), engine.Options{Capabilities: engine.Capabilities{Credentials: []engine.CredentialType{engine.CredentialBasic}}})
	if _, err := p.call(peerRequest{Op: "commit", Client: alice.name, Add: [][]byte{narrow.KeyPackage(t)}, Public: true}); err == nil ||
		!strings.Contains(err.Error(), "does not support required capabilities") {
		t.Fatalf("ts-mls adds a KeyPackage without x509 to a group requiring it: %v", err)
	}
	resp := p.must(t, peerRequest{Op: "commit", Client: alice.name, Add: [][]byte{bob.KeyPackage(t)}, Public: true})
	if len(resp.Tree) == 0 {
		t.Fatal("ts-mls commit without the tree in its Welcome returned no tree")
	}
	g, err := bob.client.JoinFromWelcome(ctx, resp.Welcome, resp.Tree)
	if err != nil {
		t.Fatalf("bob joins alice's group requiring basic and x509: %v", err)
	}
	bob.group = g
	members := map[uint32]string{0: "alice", 1: "bob"}
	agree(t, "bob joined", 1, members, alice, bob)
	exchange(t, "epoch 1", alice, bob)

	commit, welcome := alice.commit(t, tsCommit{add: [][]byte{carol.KeyPackage(t)}})
	deliver(t, commit, "commit", bob)
	carol.Join(t, welcome)
	members[2] = "im:carol"
	agree(t, "carol (x509) joined", 2, members, alice, bob, carol)
	exchange(t, "epoch 2", alice, bob, carol)

	// A ts-mls member whose certificate the engine's roots do not cover.
	eve := newX509TSMember(t, p, testcert.NewCA(t, "other"), "im:eve", id)
	if _, err := carol.group.Commit(ctx, engine.CommitOptions{Add: [][]byte{eve.KeyPackage(t)}}); !errors.Is(err, engine.ErrBadCredential) {
		t.Fatalf("carol adds eve, whose certificate another CA issued: got %v, want ErrBadCredential", err)
	}
	dave := newX509TSMember(t, p, ca, "im:dave", id)
	out, err := carol.group.Commit(ctx, engine.CommitOptions{Add: [][]byte{dave.KeyPackage(t)}, NoRatchetTree: true, Merge: true})
	if err != nil {
		t.Fatalf("carol adds dave (ts-mls, x509): %v", err)
	}
	deliver(t, out.Commit, "commit", alice, bob)
	p.must(t, peerRequest{Op: "join", Client: dave.name, Welcome: out.Welcome, Tree: out.RatchetTree})
	members[3] = "im:dave"
	agree(t, "dave (ts-mls, x509) joined with the tree out of band", 3, members, alice, bob, carol, dave)
	exchange(t, "epoch 3", alice, bob, carol, dave)

	commit, _ = carol.commit(t, engine.CommitOptions{SelfUpdate: true})
	deliver(t, commit, "commit", alice, bob, dave)
	agree(t, "carol committed", 4, members, alice, bob, carol, dave)
	exchange(t, "epoch 4", alice, bob, carol, dave)

	erin := newTSMember(t, p, "erin", id, false)
	gi, err := bob.group.GroupInfo(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := bob.group.RatchetTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	commit = p.must(t, peerRequest{Op: "external_join", Client: erin.name, GroupInfo: gi, Tree: tree}).Commit
	deliver(t, commit, "commit", alice, bob, carol, dave)
	members[4] = "erin"
	agree(t, "erin joined from a GroupInfo without the tree", 5, members, alice, bob, carol, dave, erin)

	frank := newX509GoMember(t, ca, "im:frank", id, opts)
	giResp := p.must(t, peerRequest{Op: "group_info", Client: alice.name, NoTree: true})
	if len(giResp.Tree) == 0 {
		t.Fatal("ts-mls GroupInfo without the tree returned no tree")
	}
	g, commit, err = frank.client.JoinByExternalCommit(ctx, giResp.GroupInfo, giResp.Tree, nil)
	if err != nil {
		t.Fatalf("frank (x509) joins from alice's GroupInfo without the tree: %v", err)
	}
	frank.group = g
	deliver(t, commit, "commit", alice, bob, carol, dave, erin)
	members[5] = "im:frank"
	agree(t, "frank joined from a ts-mls GroupInfo without the tree", 6, members, alice, bob, carol, dave, erin, frank)
	exchange(t, "epoch 6", alice, bob, carol, dave, erin, frank)

	commit, _ = alice.commit(t, tsCommit{remove: []uint32{2}})
	got := deliver(t, commit, "commit", bob, carol, dave, erin, frank)
	if !got[1].Commit.SelfRemoved {
		t.Errorf("carol's view of her removal: %+v", got[1].Commit)
	}
	delete(members, 2)
	agree(t, "carol removed", 7, members, alice, bob, dave, erin, frank)
	exchange(t, "epoch 7", alice, bob, dave, erin, frank)
}

// newX509GoMember returns an engine member presenting an X.509 credential
// from ca naming uri, for a fresh key of suite id.
func newX509GoMember(t *testing.T, ca *testcert.CA, uri string, id suite.ID, opts engine.Options) *goMember {
	t.Helper()
	cs, err := suite.New(id)
	if err != nil {
		t.Fatal(err)
	}
	key := certKey(t, cs)
	st := engine.NewMemStorage()
	c, err := engine.NewX509Client(st, &engine.X509Credential{Chain: ca.Chain(t, key, uri), Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &goMember{name: uri, id: id, opts: opts, st: st, client: c}
}

// newX509TSMember returns a ts-mls member presenting an X.509 credential
// from ca naming uri, for a fresh key of suite id.
func newX509TSMember(t *testing.T, p *peer, ca *testcert.CA, uri string, id suite.ID) *tsMember {
	t.Helper()
	cs, err := suite.New(id)
	if err != nil {
		t.Fatal(err)
	}
	key := certKey(t, cs)
	priv, pub, err := cs.ImportSignaturePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p.must(t, peerRequest{Op: "new_client", Client: uri, Suite: uint16(id), X509Chain: ca.Chain(t, key, uri), SignKey: priv, PublicKey: pub})
	return &tsMember{name: uri, peer: p, public: true}
}

// certKey returns a fresh private key of cs's signature scheme.
func certKey(t *testing.T, cs *suite.Suite) crypto.Signer {
	t.Helper()
	return testcert.KeyFor(t, func(k crypto.Signer) bool {
		_, _, err := cs.ImportSignaturePrivateKey(k)
		return err == nil
	})
}
