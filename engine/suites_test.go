package engine

import (
	"context"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// TestSharedSuites checks that groups opened with one suite registry share
// one Suite (and so its bounded verification caches), that a client's
// groups share the client's, and that LoadGroup without a registry gives a
// Suite of the group's own.
func TestSharedSuites(t *testing.T) {
	ctx := context.Background()
	a, b := twoMembers(t, Options{})
	if a.g.s.cs == b.g.s.cs {
		t.Fatal("two clients share a Suite")
	}
	own, err := a.client.opts.Suites.Get(suite1)
	if err != nil || a.g.s.cs != own {
		t.Fatalf("alice's group does not use her client's Suite (%v)", err)
	}
	reg := suite.NewRegistry()
	g1, err := LoadGroup(ctx, a.st, a.g.GroupID(), Options{Suites: reg})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := LoadGroup(ctx, a.st, a.g.GroupID(), Options{Suites: reg})
	if err != nil {
		t.Fatal(err)
	}
	if g1.s.cs != g2.s.cs {
		t.Error("groups loaded with one registry have different Suites")
	}
	g3, err := LoadGroup(ctx, a.st, a.g.GroupID(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g3.s.cs == g1.s.cs {
		t.Error("a group loaded without a registry shares a registry's Suite")
	}
	// The shared Suite works for both: each decrypts the other's message.
	msg, err := b.g.Encrypt(ctx, []byte("to both"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := g1.Process(ctx, msg); err != nil || string(r.ApplicationData) != "to both" {
		t.Fatalf("g1: %v, %v", r, err)
	}
}
