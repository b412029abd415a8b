package quickstart

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/mlsbackup/mlsbackup/engine"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// commit has m create and merge a commit, delivers it to every other active
// member and the Welcome to the added ones, and takes the snapshots due.
func (d *demo) commit(ctx context.Context, m *member, o engine.CommitOptions, what string, joiners ...*member) error {
	from := m.group.Epoch()
	out, err := m.group.Commit(ctx, o)
	if err != nil {
		return fmt.Errorf("%s commits (%s): %w", m.name, what, err)
	}
	if _, err := m.group.MergePendingCommit(ctx); err != nil {
		return fmt.Errorf("%s merges (%s): %w", m.name, what, err)
	}
	d.commits = append(d.commits, out.Commit)
	d.epochOf = append(d.epochOf, from)
	d.sum.Commits++
	var got []string
	for _, r := range d.active() {
		if r == m {
			continue
		}
		res, err := r.group.Process(ctx, out.Commit)
		if err != nil {
			return fmt.Errorf("%s processes %s's commit (%s): %w", r.name, m.name, what, err)
		}
		if res.Commit != nil && res.Commit.SelfRemoved {
			r.removed = true
			got = append(got, r.name+" (now removed)")
			continue
		}
		got = append(got, r.name)
	}
	for _, j := range joiners {
		g, err := j.client.JoinFromWelcome(ctx, out.Welcome, nil)
		if err != nil {
			return fmt.Errorf("%s joins from the Welcome: %w", j.name, err)
		}
		j.group = g
		got = append(got, j.name+" (joined from the Welcome)")
	}
	d.say("epoch %d: %s %s; commit delivered to %s", out.Epoch, m.name, what, list(got))
	for _, r := range d.active() {
		if err := d.epochReached(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// send has m encrypt text and every other active member decrypt it.
func (d *demo) send(ctx context.Context, m *member, text string) error {
	msg, err := m.group.Encrypt(ctx, []byte(text), nil)
	if err != nil {
		return fmt.Errorf("%s sends: %w", m.name, err)
	}
	d.sum.Messages++
	var got []string
	for _, r := range d.active() {
		if r == m {
			continue
		}
		res, err := r.group.Process(ctx, msg)
		if err != nil {
			return fmt.Errorf("%s decrypts %s's message: %w", r.name, m.name, err)
		}
		if string(res.ApplicationData) != text {
			return fmt.Errorf("%s decrypted %q from %s, want %q", r.name, res.ApplicationData, m.name, text)
		}
		got = append(got, r.name)
	}
	d.say("epoch %d: %s says %q; decrypted by %s", m.group.Epoch(), m.name, text, list(got))
	return nil
}

// list joins names for a progress line.
func list(names []string) string {
	switch len(names) {
	case 0:
		return "nobody"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// keyPackage has m publish a KeyPackage.
func (d *demo) keyPackage(ctx context.Context, m *member) ([]byte, error) {
	kp, err := m.client.CreateKeyPackage(ctx, suiteID, false)
	if err != nil {
		return nil, fmt.Errorf("%s creates a KeyPackage: %w", m.name, err)
	}
	return kp, nil
}
