package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// manifestChecks are the checks of one snapshot, in the order they run.
var manifestChecks = []uploader.Check{
	uploader.CheckEnvelope, uploader.CheckSigned, uploader.CheckSigner, uploader.CheckSignature,
	uploader.CheckPayload, uploader.CheckLocation, uploader.CheckDownload, uploader.CheckDecrypt,
	uploader.CheckChecksums, uploader.CheckSnapshot, uploader.CheckChain, uploader.CheckHead,
}

// VerifyRequest says what [Verify] checks. The zero value checks the
// newest snapshot of every group: what restore --all restores.
type VerifyRequest struct {
	// Group checks every snapshot of this group, and its chain.
	Group []byte
	// All checks every snapshot of every group, and their chains.
	All bool
	// Concurrency bounds the snapshots checked at once; default
	// [DefaultConcurrency].
	Concurrency int
	// Progress, if set, is called with how many snapshots are downloaded
	// and checked of how many: once with done 0 when they are listed,
	// then as each is done, naming it (serialized).
	Progress func(done, total int, item string)
}

// ObjectResult is what [Verify] found of one object: a snapshot (named by
// its manifest's key), or a head.
type ObjectResult struct {
	// Key is the object's key; Group its group (nil for a head).
	Key   string
	Group []byte
	// Manifest is the snapshot's manifest if it could be read.
	Manifest *uploader.Manifest
	// Passed are the checks that passed, in order; Failed is the one that
	// failed ("" if none) and Err why.
	Passed []uploader.Check
	Failed uploader.Check
	Err    error
}

// OK reports whether every check of the object passed.
func (r ObjectResult) OK() bool { return r.Err == nil }

// VerifyReport is the outcome of [Verify].
type VerifyReport struct {
	// Head is the newest head that verified (nil if none).
	Head *uploader.Head
	// Objects are the results, sorted by key.
	Objects []ObjectResult
}

// Failed counts the objects that failed a check.
func (v *VerifyReport) Failed() int {
	n := 0
	for _, o := range v.Objects {
		if !o.OK() {
			n++
		}
	}
	return n
}

// Verify checks the backups of src as restore would, without importing
// anything: every snapshot in scope is read (envelope, signer, signature,
// payload, location), downloaded and decrypted (checksums), and parsed
// (its group id, epoch and epoch authenticator against the signed
// payload); the heads, each group's chain (with req.Group or req.All) and
// what the newest head says are checked with the same code as restore's.
// It returns a result per object; the error is a listing error only.
func Verify(ctx context.Context, src Source, req VerifyRequest) (*VerifyReport, error) {
	if req.Concurrency <= 0 {
		req.Concurrency = DefaultConcurrency
	}
	au, err := readAudit(ctx, src)
	if err != nil {
		return nil, err
	}
	all := req.All || req.Group != nil
	ms, bad, err := verifyScope(ctx, src, req)
	if err != nil {
		return nil, err
	}
	t := newTally(ms)
	for _, err := range bad {
		t.fail(err)
	}
	for _, err := range verifySnapshots(ctx, src, ms, req.Concurrency, req.Progress) {
		t.fail(err)
	}
	groups := map[string][]uploader.Manifest{}
	for _, m := range ms {
		groups[string(m.GroupID)] = append(groups[string(m.GroupID)], m)
	}
	for g, gm := range groups {
		for _, err := range au.groupErrors([]byte(g), gm, all, nil) {
			forEachErr(err, t.fail)
		}
	}
	forEachErr(au.badHeads, t.fail)
	if req.Group == nil {
		badGroups, _ := SplitByGroup(errors.Join(bad...))
		has := func(g []byte) bool { return len(groups[string(g)]) > 0 || len(badGroups[string(g)]) > 0 }
		for _, g := range uploader.MissingGroups(au.head, has) {
			t.fail(uploader.HeadError(au.head, g, nil, au.now))
		}
	}
	return &VerifyReport{Head: au.head, Objects: t.results(all)}, nil
}

// tally collects the results of Verify by object.
type tally struct {
	byKey  map[string]*ObjectResult
	byData map[string]string // a snapshot.age's key → its manifest's
}

func newTally(ms []uploader.Manifest) *tally {
	t := &tally{byKey: map[string]*ObjectResult{}, byData: map[string]string{}}
	for i := range ms {
		t.byKey[ms[i].Key] = &ObjectResult{Key: ms[i].Key, Group: ms[i].GroupID, Manifest: &ms[i]}
		if !ms[i].Inline() {
			t.byData[ms[i].DataKey] = ms[i].Key
		}
	}
	return t
}

// fail records err against the object it names, unless that object
// already failed an earlier check.
func (t *tally) fail(err error) {
	key := ""
	var oe *uploader.ObjectError
	if errors.As(err, &oe) {
		key = oe.Key
	}
	if k, ok := t.byData[key]; ok {
		key = k
	}
	r := t.byKey[key]
	if r == nil {
		r = &ObjectResult{Key: key, Group: uploader.KeyGroup(key)}
		t.byKey[key] = r
	}
	c := uploader.FailedCheck(err)
	if r.Err == nil || checkIndex(c) < checkIndex(r.Failed) {
		r.Failed, r.Err = c, err
	}
}

// results returns every object's result, sorted by key, with the checks
// it passed: those before the one that failed (reading checks only for
// an object whose manifest could not be read, or a head; the chain only
// if chains were checked).
func (t *tally) results(chains bool) []ObjectResult {
	out := make([]ObjectResult, 0, len(t.byKey))
	for _, k := range slices.Sorted(maps.Keys(t.byKey)) {
		r := t.byKey[k]
		for _, c := range manifestChecks {
			if (r.Err != nil && (r.Failed == "" || checkIndex(c) >= checkIndex(r.Failed))) ||
				(r.Manifest == nil && checkIndex(c) > checkIndex(uploader.CheckLocation) && c != uploader.CheckHead) {
				break
			}
			if c == uploader.CheckChain && !chains {
				continue
			}
			r.Passed = append(r.Passed, c)
		}
		out = append(out, *r)
	}
	return out
}

// verifyScope reads the manifests in req's scope; bad are the errors of
// those that do not verify.
func verifyScope(ctx context.Context, src Source, req VerifyRequest) ([]uploader.Manifest, []error, error) {
	var (
		ms  []uploader.Manifest
		err error
	)
	switch {
	case req.Group != nil:
		ms, err = src.List(ctx, req.Group)
	case req.All:
		ms, err = src.List(ctx, nil)
	default:
		ms, err = src.ListLatest(ctx)
	}
	byGroup, rest := SplitByGroup(err)
	if len(rest) > 0 {
		return nil, nil, fmt.Errorf("list snapshots: %w", errors.Join(rest...))
	}
	var bad []error
	for _, errs := range byGroup {
		bad = append(bad, errs...)
	}
	return ms, bad, nil
}

// verifySnapshots downloads, decrypts and parses each of ms, at most n at
// once, and returns an error per snapshot that fails; progress, if set,
// is called as in [VerifyRequest].
func verifySnapshots(ctx context.Context, src Source, ms []uploader.Manifest, n int, progress func(done, total int, item string)) []error {
	errs := make([]error, len(ms))
	sem := make(chan struct{}, n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	if progress != nil {
		progress(0, len(ms), "")
	}
	for i, m := range ms {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = verifySnapshot(ctx, src, m)
			if progress != nil {
				mu.Lock()
				defer mu.Unlock()
				done++
				progress(done, len(ms), m.Ref.String())
			}
		})
	}
	wg.Wait()
	return slices.DeleteFunc(errs, func(e error) bool { return e == nil })
}

// verifySnapshot downloads, decrypts and parses the snapshot of m.
func verifySnapshot(ctx context.Context, src Source, m uploader.Manifest) error {
	var buf bytes.Buffer
	if err := src.Fetch(ctx, m, &buf); err != nil {
		return err
	}
	_, err := checkSnapshot(ctx, buf.Bytes(), m)
	return err
}

// checkIndex is c's place in manifestChecks (len for an unknown check).
func checkIndex(c uploader.Check) int {
	if i := slices.Index(manifestChecks, c); i >= 0 {
		return i
	}
	return len(manifestChecks)
}

// forEachErr calls fn with each error joined in err.
func forEachErr(err error, fn func(error)) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			forEachErr(e, fn)
		}
		return
	}
	if err != nil {
		fn(err)
	}
}

// ObjectSource is a [Source] that reads one object by its key;
// *uploader.Backup implements it.
type ObjectSource interface {
	Source
	// ManifestAt reads and checks the manifest stored under key.
	ManifestAt(ctx context.Context, key string) (uploader.Manifest, error)
	// HeadAt reads and checks the head stored under key.
	HeadAt(ctx context.Context, key string) (*uploader.Head, error)
}

var _ ObjectSource = (*uploader.Backup)(nil)

// VerifyObject checks one object as restore would check it: a snapshot
// (key is its manifest.json or snapshot.json) is read, downloaded,
// decrypted and parsed; a head (heads/<S>.json) is read. The chain and
// head checks concern a group's snapshots together: [Verify] makes them.
func VerifyObject(ctx context.Context, src ObjectSource, key string) ObjectResult {
	t := &tally{byKey: map[string]*ObjectResult{}, byData: map[string]string{}}
	if uploader.KeyGroup(key) == nil {
		_, err := src.HeadAt(ctx, key)
		t.byKey[key] = &ObjectResult{Key: key}
		if err != nil {
			t.fail(err)
		}
		return t.results(false)[0]
	}
	m, err := src.ManifestAt(ctx, key)
	if err != nil {
		t.byKey[key] = &ObjectResult{Key: key, Group: uploader.KeyGroup(key)}
		t.fail(err)
		return t.results(false)[0]
	}
	t = newTally([]uploader.Manifest{m})
	for _, err := range verifySnapshots(ctx, src, []uploader.Manifest{m}, 1, nil) {
		t.fail(err)
	}
	r := t.results(false)[0]
	// Chain and head are not checked here.
	r.Passed = slices.DeleteFunc(r.Passed, func(c uploader.Check) bool { return c == uploader.CheckHead })
	return r
}
