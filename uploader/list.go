package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// orphan is a snapshot object without a manifest.
type orphan struct {
	ref  Ref
	info ObjectInfo
}

// scanResult classifies every object under the groups prefix.
type scanResult struct {
	complete []Ref    // manifest present, sorted by compareRefs
	noData   []Ref    // manifest present, data object missing (also in complete; never inline)
	orphans  []orphan // data present, manifest missing
	unknown  []string // keys that do not follow the layout
}

// scan lists the objects of one group (or all groups if group is nil) and
// classifies them, reading no object.
func (b *Backup) scan(ctx context.Context, group []byte) (scanResult, error) {
	prefix := b.layout.groupsPrefix(group)
	objs, err := b.store.List(ctx, prefix)
	if err != nil {
		return scanResult{}, fmt.Errorf("list %s: %w", prefix, err)
	}
	type dir struct {
		ref            Ref
		manifest, data bool
		dataInfo       ObjectInfo
	}
	dirs := make(map[string]*dir)
	var order []string
	var res scanResult
	for _, o := range objs {
		ref, file, ok := b.layout.parseKey(o.Key)
		if !ok || (file != manifestName && file != dataName && file != inlineName) {
			res.unknown = append(res.unknown, o.Key)
			continue
		}
		d := dirs[ref.Key]
		if d == nil {
			d = &dir{ref: ref}
			dirs[ref.Key] = d
			order = append(order, ref.Key)
		}
		if file != dataName {
			d.manifest = true
		} else {
			d.data, d.dataInfo = true, o
		}
	}
	for _, k := range order {
		d := dirs[k]
		switch {
		case d.manifest:
			res.complete = append(res.complete, d.ref)
			if !d.data && !d.ref.Inline() {
				res.noData = append(res.noData, d.ref)
			}
		default:
			res.orphans = append(res.orphans, orphan{ref: d.ref, info: d.dataInfo})
		}
	}
	slices.SortFunc(res.complete, compareRefs)
	return res, nil
}

// scanGroups is scan of each of groups, merged, with at most
// Options.Concurrency listings at once.
func (b *Backup) scanGroups(ctx context.Context, groups [][]byte) (scanResult, error) {
	results := make([]scanResult, len(groups))
	errs := make([]error, len(groups))
	sem := make(chan struct{}, b.opts.Concurrency)
	var wg sync.WaitGroup
	for i, g := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i], errs[i] = b.scan(ctx, g)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return scanResult{}, err
	}
	var res scanResult
	for _, r := range results {
		res.complete = append(res.complete, r.complete...)
		res.noData = append(res.noData, r.noData...)
		res.orphans = append(res.orphans, r.orphans...)
		res.unknown = append(res.unknown, r.unknown...)
	}
	slices.SortFunc(res.complete, compareRefs)
	return res, nil
}

// ListRefs returns the complete snapshots of group (all groups if group is
// nil) from a key listing alone, without reading manifests, sorted by
// group, epoch and creation time. Orphans are left out.
func (b *Backup) ListRefs(ctx context.Context, group []byte) ([]Ref, error) {
	res, err := b.scan(ctx, group)
	if err != nil {
		return nil, err
	}
	return res.complete, nil
}

// List returns the manifests of the complete snapshots of group (all
// groups if group is nil), sorted by group, epoch and creation time. A
// snapshot whose manifest has not been written yet (an upload in progress,
// or one that failed) is not listed.
//
// A manifest that cannot be read or parsed, or that contradicts its key,
// does not hide the others: List returns every good manifest together with
// an error joining one [*ObjectError] per bad manifest.
func (b *Backup) List(ctx context.Context, group []byte) ([]Manifest, error) {
	refs, err := b.ListRefs(ctx, group)
	if err != nil {
		return nil, err
	}
	return b.readManifests(ctx, refs)
}

// ListLatest returns, for every group, the manifest of its newest complete
// snapshot (highest epoch, then latest creation), sorted by group. It reads
// one manifest per group, so it suits restoring every group. Errors are
// reported as by [Backup.List].
func (b *Backup) ListLatest(ctx context.Context) ([]Manifest, error) {
	refs, err := b.ListRefs(ctx, nil)
	if err != nil {
		return nil, err
	}
	var latest []Ref
	for i, r := range refs {
		if i+1 == len(refs) || string(refs[i+1].GroupID) != string(r.GroupID) {
			latest = append(latest, r)
		}
	}
	return b.readManifests(ctx, latest)
}

// readManifests reads the manifests of refs with bounded concurrency,
// keeping refs' order.
func (b *Backup) readManifests(ctx context.Context, refs []Ref) ([]Manifest, error) {
	out := make([]Manifest, len(refs))
	errs := make([]error, len(refs))
	sem := make(chan struct{}, b.opts.Concurrency)
	var wg sync.WaitGroup
	for i, r := range refs {
		if ctx.Err() != nil {
			errs[i] = objErr("read manifest", r.Key, ctx.Err())
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = b.ReadManifest(ctx, r)
		})
	}
	wg.Wait()
	good := out[:0]
	var bad []error
	for i := range out {
		if errs[i] != nil {
			bad = append(bad, errs[i])
			continue
		}
		good = append(good, out[i])
	}
	return good, errors.Join(bad...)
}

// ReadManifest reads and checks the manifest of ref.
func (b *Backup) ReadManifest(ctx context.Context, ref Ref) (Manifest, error) {
	m, _, err := b.readManifest(ctx, ref, nil)
	return m, err
}

// ReadManifestUnder is [Backup.ReadManifest] given h, the newest head that
// verified ([Backup.ReadHead]; nil if none): a manifest h names as its
// group's newest — by the SHA-256 of its payload, which h's signature
// covers — needs no signature check of its own. A restore of every
// group's newest snapshot thus checks one signature, the head's, for the
// groups the head names.
func (b *Backup) ReadManifestUnder(ctx context.Context, ref Ref, h *Head) (Manifest, error) {
	m, _, err := b.readManifest(ctx, ref, h)
	return m, err
}

// readManifest reads and checks the manifest of ref (see
// ReadManifestUnder for h) and returns it with the age file inside if the
// snapshot is inline.
func (b *Backup) readManifest(ctx context.Context, ref Ref, h *Head) (Manifest, []byte, error) {
	data, err := b.readObject(ctx, ref.Key, maxManifestSize)
	if err != nil {
		return Manifest{}, nil, objErr("read manifest", ref.Key, err)
	}
	m, inline, err := b.codec.decodeUnder(data, ref, h)
	if err != nil {
		return Manifest{}, nil, objErr("read manifest", ref.Key, err)
	}
	return m, inline, nil
}

// readObject reads the object at key, at most limit bytes; a larger one
// is a failure of [CheckEnvelope].
func (b *Backup) readObject(ctx context.Context, key string, limit int64) ([]byte, error) {
	rc, err := b.store.Get(ctx, key)
	if err != nil {
		return nil, checkErr(CheckDownload, err, "")
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, checkErr(CheckDownload, err, "")
	}
	if int64(len(data)) > limit {
		return nil, checkErr(CheckEnvelope, ErrBadManifest, "larger than %d bytes", limit)
	}
	return data, nil
}

// ManifestAt reads the manifest stored under key, which must be a manifest
// key of this backup set's layout (as printed by list).
func (b *Backup) ManifestAt(ctx context.Context, key string) (Manifest, error) {
	ref, file, ok := b.layout.parseKey(key)
	if !ok || (file != manifestName && file != inlineName) {
		return Manifest{}, objErr("read manifest", key, errors.New("not a manifest key of this backup set"))
	}
	return b.ReadManifest(ctx, ref)
}
