package engine

import (
	"bytes"
	"context"
	"crypto/fips140"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// TestGroupEverySuite runs a group through its life in every cipher suite:
// creation, an Add with its Welcome, a self-update, application messages
// both ways, a join by external commit and a removal. In FIPS 140-only
// mode (GODEBUG=fips140=only, see TestFIPSOnlyMode) the suites the Go
// Cryptographic Module approves run the same way, and the others are
// refused at once, when the group or the KeyPackage is created.
func TestGroupEverySuite(t *testing.T) {
	ctx := context.Background()
	if os.Getenv(fipsChildEnv) != "" && !fips140.Enforced() {
		t.Fatal("the FIPS 140-only child runs without enforcement")
	}
	for _, id := range suite.All() {
		t.Run(id.String(), func(t *testing.T) {
			a, b, c := newMember("alice"), newMember("bob"), newMember("carol")
			g, err := a.client.CreateGroup(ctx, id, []byte("group"))
			if fips140.Enforced() && !id.FIPSApproved() {
				if !errors.Is(err, suite.ErrNotFIPSApproved) || !errors.Is(err, ErrUnsupported) {
					t.Fatalf("CreateGroup in FIPS 140-only mode: %v, want ErrNotFIPSApproved", err)
				}
				if _, err := b.client.CreateKeyPackage(ctx, id, false); !errors.Is(err, suite.ErrNotFIPSApproved) {
					t.Fatalf("CreateKeyPackage in FIPS 140-only mode: %v, want ErrNotFIPSApproved", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a.g = g
			out := commitAndDeliver(t, a, CommitOptions{Add: [][]byte{b.keyPackage(t, id)}})
			if b.g, err = b.client.JoinFromWelcome(ctx, out.Welcome, nil); err != nil {
				t.Fatal(err)
			}
			commitAndDeliver(t, b, CommitOptions{SelfUpdate: true}, a)
			for _, m := range [][2]*member{{a, b}, {b, a}} {
				msg, err := m[0].g.Encrypt(ctx, []byte("hello from "+m[0].name), nil)
				if err != nil {
					t.Fatal(err)
				}
				if r := deliver(t, msg, m[1])[0]; !bytes.Equal(r.ApplicationData, []byte("hello from "+m[0].name)) {
					t.Fatalf("%s got %q", m[1].name, r.ApplicationData)
				}
			}
			gi, err := a.g.GroupInfo(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			var commit []byte
			if c.g, commit, err = c.client.JoinByExternalCommit(ctx, gi, nil, nil); err != nil {
				t.Fatal(err)
			}
			deliver(t, commit, a, b)
			agree(t, a, b, c)
			commitAndDeliver(t, a, CommitOptions{Remove: []uint32{b.g.OwnIndex()}}, c)
			agree(t, a, c)
		})
	}
}

// TestShortPSK checks a PSK shorter than 112 bits: in FIPS 140-only mode
// (see TestFIPSOnlyMode) the module refuses it as an HKDF key, and the
// PSK secret computation returns ErrShortKey instead of reaching HKDF;
// otherwise it is used like any other.
func TestShortPSK(t *testing.T) {
	for _, id := range suite.All() {
		if fips140.Enforced() && !id.FIPSApproved() {
			continue // refused at New, as TestGroupEverySuite checks
		}
		cs, err := suite.New(id)
		if err != nil {
			t.Fatal(err)
		}
		_, err = keyschedule.PSKSecret(cs, []keyschedule.PSK{{ID: []byte("id"), Secret: []byte("short")}})
		if want := fips140.Enforced(); errors.Is(err, suite.ErrShortKey) != want || (err != nil) != want {
			t.Errorf("%v: 5-byte PSK: %v, want ErrShortKey %v", id, err, want)
		}
		if _, err := keyschedule.PSKSecret(cs, []keyschedule.PSK{{ID: []byte("id"), Secret: bytes.Repeat([]byte{1}, 14)}}); err != nil {
			t.Errorf("%v: 14-byte PSK: %v", id, err)
		}
	}
}

// TestFIPSOnlyMode runs the official vectors, TestGroupEverySuite and
// TestShortPSK again in a child process of this test binary with
// GODEBUG=fips140=only: the suites on the NIST curves (FIPSApproved) pass
// every vector and the group test, and the others are refused with
// ErrNotFIPSApproved.
func TestFIPSOnlyMode(t *testing.T) {
	if fips140.Enabled() {
		t.Fatal("TestFIPSOnlyMode starts the FIPS 140-only child itself; run it without GODEBUG=fips140")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-test.run", "^(TestInteropVectors|TestGroupEverySuite|TestShortPSK)$", "-test.count", "1"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.CommandContext(t.Context(), exe, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=only", fipsChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tests with GODEBUG=fips140=only: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("no PASS from the FIPS 140-only child:\n%s", out)
	}
}

// fipsChildEnv marks TestFIPSOnlyMode's child process.
const fipsChildEnv = "MLSBACKUP_FIPS_CHILD"

// fipsRefused reports whether err is the refusal of a suite that FIPS
// 140-only mode does not approve, which a vector case of such a suite
// must meet in that mode.
func fipsRefused(err error) bool {
	return fips140.Enforced() && errors.Is(err, suite.ErrNotFIPSApproved)
}
