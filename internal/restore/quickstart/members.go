package quickstart

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// member is one participant: its data directory, store, client, group and
// backup prefix.
type member struct {
	name    string
	dir     string
	store   *localstore.Store
	client  *engine.Client
	group   *engine.Group
	backup  *uploader.Backup
	removed bool
}

// open opens (or re-opens) the member's data directory.
func (m *member) open(ctx context.Context) error {
	st, _, err := localstore.Open(ctx, fsx.OS{}, m.dir, localstore.Options{})
	if err != nil {
		return fmt.Errorf("open data directory of %s: %w", m.name, err)
	}
	m.store = st
	m.client = engine.NewClient(st, []byte(m.name), engine.Options{})
	return nil
}

// close releases the member's data directory.
func (m *member) close() error {
	if m.store == nil {
		return nil
	}
	err := m.store.Close()
	m.store = nil
	if err != nil {
		return fmt.Errorf("close data directory of %s: %w", m.name, err)
	}
	return nil
}

func newMember(root, name string) *member {
	return &member{name: name, dir: filepath.Join(root, "members", name)}
}

// indexOf returns the leaf index of the member with identity name.
func indexOf(g *engine.Group, name string) (uint32, bool) {
	for _, mb := range g.Members() {
		if bytes.Equal(mb.Identity, []byte(name)) {
			return mb.Index, true
		}
	}
	return 0, false
}
