package localstore

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/mlsbackup/mlsbackup/engine"
)

// Directory and file names of the layout (see the package doc).
const (
	dirMLS       = "mls"
	dirGroups    = "groups"
	dirClient    = "client"
	dirWAL       = "wal"
	dirSnapshots = "snapshots"
	fileLock     = "LOCK"
	fileFormat   = "FORMAT"

	filePerm fs.FileMode = 0o600
	dirPerm  fs.FileMode = 0o700

	// maxGroupID bounds group ids so that their hex form is a valid file name.
	maxGroupID = 120
	maxName    = 200
)

// ErrInvalidKey is returned for a component key that cannot be stored.
var ErrInvalidKey = errors.New("localstore: invalid component key")

// validName reports whether s is usable as a kind or component file name.
func validName(s string) bool {
	if s == "" || len(s) > maxName || s[0] == '.' {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

func validateKey(k engine.Key) error {
	switch {
	case len(k.Group) > maxGroupID:
		return fmt.Errorf("%w: group id of %d bytes (max %d)", ErrInvalidKey, len(k.Group), maxGroupID)
	case !validName(string(k.Kind)) || k.Kind == dirSnapshots:
		return fmt.Errorf("%w: kind %q", ErrInvalidKey, k.Kind)
	case !validName(k.Name):
		return fmt.Errorf("%w: name %q", ErrInvalidKey, k.Name)
	}
	return nil
}

// KeyString formats a component key as "<group-hex>/<kind>/<name>", the
// key format of [Store.Dump].
func KeyString(k engine.Key) string { return compKey(k) }

// compKey is the map key of a component: "<group-hex>/<kind>/<name>".
func compKey(k engine.Key) string {
	return hex.EncodeToString(k.Group) + "/" + string(k.Kind) + "/" + k.Name
}

// groupDir is the directory holding a group's kinds (or the client-level
// directory for an empty group).
func (s *Store) groupDir(group []byte) string {
	if len(group) == 0 {
		return filepath.Join(s.dir, dirMLS, dirClient)
	}
	return filepath.Join(s.dir, dirMLS, dirGroups, hex.EncodeToString(group))
}

func (s *Store) kindDir(group []byte, kind engine.Kind) string {
	return filepath.Join(s.groupDir(group), string(kind))
}

func (s *Store) compPath(k engine.Key) string {
	return filepath.Join(s.kindDir(k.Group, k.Kind), k.Name)
}

// ensureDir creates dir (which must be inside the data directory) and any
// missing parents durably: each new directory's parent is fsynced.
func (s *Store) ensureDir(dir string) error {
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if s.dirs[dir] {
		return nil
	}
	rel, err := filepath.Rel(s.dir, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("ensure dir %s: outside data directory", dir)
	}
	cur := s.dir
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if part == "." {
			continue
		}
		parent := cur
		cur = filepath.Join(cur, part)
		if s.dirs[cur] {
			continue
		}
		// An existing directory may come from a process that died before
		// fsyncing its parent: fsync the parent once either way.
		if _, err := s.fs.Stat(cur); errors.Is(err, fs.ErrNotExist) {
			if err := s.fs.MkdirAll(cur, dirPerm); err != nil {
				return fmt.Errorf("ensure dir: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("ensure dir: %w", err)
		}
		if err := s.fs.SyncDir(parent); err != nil {
			return fmt.Errorf("ensure dir: %w", err)
		}
		s.dirs[cur] = true
	}
	return nil
}

// ensureDirDeferred is [Store.ensureDir] for the directory of a component
// file written by an applier round: the parent of each directory it
// creates is noted for the next checkpoint instead of fsynced now (the
// files inside are covered by the log until then). Such directories count
// as durable only once that checkpoint ran, so ensureDir (snapshots) still
// fsyncs their parents itself. flushMu is held (or recovery runs alone).
func (s *Store) ensureDirDeferred(dir string) error {
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if s.dirs[dir] || s.ckpt.created[dir] {
		return nil
	}
	rel, err := filepath.Rel(s.dir, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("ensure dir %s: outside data directory", dir)
	}
	cur := s.dir
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if part == "." {
			continue
		}
		parent := cur
		cur = filepath.Join(cur, part)
		if s.dirs[cur] || s.ckpt.created[cur] {
			continue
		}
		if _, err := s.fs.Stat(cur); errors.Is(err, fs.ErrNotExist) {
			if err := s.fs.MkdirAll(cur, dirPerm); err != nil {
				return fmt.Errorf("ensure dir: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("ensure dir: %w", err)
		}
		s.ckpt.dirs[parent] = true
		s.ckpt.created[cur] = true
	}
	return nil
}
