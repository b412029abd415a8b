package main

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/testcert"
)

// TestGroupKeyPackageX509: "group keypackage --credential x509
// --cert-chain FILE --key FILE" makes a KeyPackage presenting the
// certificate; an agent checking chains against mls.x509_roots adds it,
// "group info" shows the certificate's URI, and "group remove --member"
// takes it. An agent configured with mls.credential presents its
// certificate by default. Incomplete flags are usage errors.
func TestGroupKeyPackageX509(t *testing.T) {
	dir := t.TempDir()
	keys := keygen(t, filepath.Join(dir, "id.txt"))
	ca := testcert.NewCA(t, "members")
	roots := ca.RootPEM(t, dir, "roots.pem")
	alice := startAgentWith(t, dir, "alice", keys, "mls: {x509_roots: "+roots+"}\n")
	bob := startAgent(t, dir, "bob", keys)
	carolChain, carolKey := ca.Issue(t, "im:carol@example.com").Files(t, dir, "carol")
	carol := startAgentWith(t, dir, "carol", keys,
		"mls: {x509_roots: "+roots+", credential: {type: x509, cert_chain: "+carolChain+", key: "+carolKey+"}}\n")
	group := hex.EncodeToString([]byte("x509"))
	var info agent.GroupInfo
	alice.cli(t, &info, "group", "create", group)

	chain, key := ca.Issue(t, "im:bob@example.com").Files(t, dir, "bob")
	for _, args := range [][]string{
		{"--credential", "x509", "--cert-chain", chain},
		{"--cert-chain", chain, "--key", key},
		{"--credential", "x.509"},
	} {
		code, _, stderr := runCLI(t, append([]string{"--config", bob.config, "group", "keypackage"}, args...)...)
		if code != exitUsage {
			t.Errorf("keypackage %v: exit %d, want a usage error: %s", args, code, stderr)
		}
	}
	var kp, carolKP agent.KeyPackageResponse
	bob.cli(t, &kp, "group", "keypackage", "--credential", "x509", "--cert-chain", chain, "--key", key)
	carol.cli(t, &carolKP, "group", "keypackage")
	var add agent.CommitResponse
	alice.cli(t, &add, "group", "add", group, "--key-package", b64(kp.KeyPackage), "--key-package", b64(carolKP.KeyPackage))
	var joined agent.GroupInfo
	bob.cli(t, &joined, "group", "join", "--welcome", b64(add.Welcome))
	carol.cli(t, &joined, "group", "join", "--welcome", b64(add.Welcome))
	code, stdout, stderr := runCLI(t, "--config", alice.config, "group", "info", group)
	if code != exitOK || !strings.Contains(stdout, "members: 0:alice 1:im:bob@example.com 2:im:carol@example.com") {
		t.Fatalf("group info: exit %d, want bob's and carol's certificate URIs:\n%s%s", code, stdout, stderr)
	}
	var rm agent.CommitResponse
	alice.cli(t, &rm, "group", "remove", group, "--member", "im:bob@example.com")
	var got agent.ReceiveResponse
	bob.cli(t, &got, "group", "receive", "--message", b64(rm.Commit))
	if got.Commit == nil || !got.Commit.SelfRemoved {
		t.Fatalf("bob receives %+v, want his removal", got)
	}
}
