package restore

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// DefaultConcurrency is how many groups [Run] restores at once by default.
const DefaultConcurrency = 32

// Source is where snapshots come from; *uploader.Backup implements it.
type Source interface {
	// List returns the complete snapshots of group (all groups if nil).
	List(ctx context.Context, group []byte) ([]uploader.Manifest, error)
	// ListLatest returns the newest complete snapshot of every group.
	ListLatest(ctx context.Context) ([]uploader.Manifest, error)
	// Fetch decrypts the snapshot of m to w, checking sizes and checksums.
	Fetch(ctx context.Context, m uploader.Manifest, w io.Writer) error
	// ReadHead returns the newest head that verifies (nil if there is
	// none) and an error per newer head object that does not.
	ReadHead(ctx context.Context) (*uploader.Head, error)
}

var _ Source = (*uploader.Backup)(nil)

// RefSource is a [Source] that can also list the snapshots from their keys
// alone and read one manifest; *uploader.Backup implements it. With it, a
// restore of the newest snapshot of every group lists the keys once and
// reads each group's manifest in the worker that restores the group, so
// that reading manifests overlaps downloads and imports instead of
// preceding them all.
type RefSource interface {
	Source
	// ListRefs returns the complete snapshots of group (all groups if nil)
	// from a key listing, sorted by group, epoch and creation time.
	ListRefs(ctx context.Context, group []byte) ([]uploader.Ref, error)
	// ReadManifestUnder reads and checks the manifest of ref; a manifest
	// that h (the newest head that verified, or nil) names needs no
	// signature check of its own.
	ReadManifestUnder(ctx context.Context, ref uploader.Ref, h *uploader.Head) (uploader.Manifest, error)
}

var _ RefSource = (*uploader.Backup)(nil)

// Request says what to restore.
type Request struct {
	// Group is the group to restore; ignored when All is set.
	Group []byte
	// All restores every group that has a matching snapshot.
	All bool
	// Select chooses each group's snapshot.
	Select Selector
}

// Options tune a restore.
type Options struct {
	// Force allows rolling a group back to an older epoch, replacing a
	// local group at the same epoch, replacing unreadable local state, and
	// restoring a group whose backups fail the chain or head checks (a
	// deleted snapshot or head) or hold objects that do not verify: the
	// newest snapshot that verifies is restored and the rest reported (see
	// Result.Problems). It never lets a snapshot through that fails its
	// own checks (signature, checksums, contents).
	Force bool
	// DryRun selects, downloads and verifies but imports nothing.
	DryRun bool
	// Concurrency bounds how many groups are restored at once; default
	// [DefaultConcurrency].
	Concurrency int
	// OnResult, if set, is called once per group as soon as it is done
	// (serialized, in completion order).
	OnResult func(Result)
	// Progress, if set, is called with how many groups are done of how
	// many: once with done 0 when the groups are known, then as each
	// finishes, with its hex id (serialized, after OnResult).
	Progress func(done, total int, item string)
	// Logger receives one line per group; default discards. Secrets are
	// never logged.
	Logger *slog.Logger
}

// Status is the outcome of one group's restore.
type Status string

// The outcomes of a group's restore.
const (
	// StatusRestored: the snapshot was imported.
	StatusRestored Status = "restored"
	// StatusWouldRestore: a dry run found that the snapshot would be
	// imported.
	StatusWouldRestore Status = "would-restore"
	// StatusUpToDate: the local group is already at the snapshot's epoch;
	// nothing changed.
	StatusUpToDate Status = "up-to-date"
	// StatusFailed: see Result.Err.
	StatusFailed Status = "failed"
)

// Result reports one group's restore.
type Result struct {
	// Group is the group id.
	Group []byte
	// Snapshot is the selected snapshot's manifest (zero Ref.Key if none).
	Snapshot uploader.Manifest
	// HadLocal is set when the group was stored locally before;
	// LocalEpoch is then its epoch (0 if it could not be read).
	HadLocal   bool
	LocalEpoch uint64
	// AuthenticatorChecked is set when the manifest recorded an epoch
	// authenticator and it matched the snapshot's.
	AuthenticatorChecked bool
	// Problems are the group's backups that fail their checks besides
	// the selected snapshot (objects that do not verify, a broken chain,
	// a head naming a newer snapshot; each an *uploader.ObjectError naming
	// the object and the check): without Options.Force they fail the group
	// (Err wraps [ErrIntegrity] and them); with it the group is restored
	// all the same.
	Problems []error
	// Head is the backup set's newest head that verified, nil if none:
	// how far its writer vouched for the backups, and when.
	Head *uploader.Head
	// Status is the outcome; Err is set exactly when it is StatusFailed.
	Status Status
	Err    error
	// Duration is the time taken for this group.
	Duration time.Duration
}

// Run restores what req asks for into dst and reports every group. The
// returned error joins every group's *GroupError and any listing error; the
// results are valid even when it is not nil (a restore of all groups goes on
// past a failed group).
func Run(ctx context.Context, src Source, dst Target, req Request, opts Options) ([]Result, error) {
	if err := req.Select.Validate(); err != nil {
		return nil, err
	}
	if !req.All && len(req.Group) == 0 {
		return nil, fmt.Errorf("%w: name a group or ask for all groups", ErrBadRequest)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	au, err := readAudit(ctx, src)
	if err != nil {
		return nil, err
	}
	jobs, listErr := plan(ctx, src, req, au, opts.Force)
	if listErr != nil && len(jobs) == 0 {
		return nil, listErr
	}
	local := localGroups(ctx, dst, req)
	results := make([]Result, len(jobs))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sem  = make(chan struct{}, opts.Concurrency)
		done int
	)
	if opts.Progress != nil {
		opts.Progress(0, len(jobs), "")
	}
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := restoreOne(ctx, src, dst, j, local, opts, au)
			results[i] = r
			logResult(opts.Logger, r)
			mu.Lock()
			defer mu.Unlock()
			if opts.OnResult != nil {
				opts.OnResult(r)
			}
			done++
			if opts.Progress != nil {
				opts.Progress(done, len(jobs), hex.EncodeToString(r.Group))
			}
		}()
	}
	wg.Wait()
	errs := []error{listErr}
	for _, r := range results {
		errs = append(errs, r.Err)
	}
	return results, errors.Join(errs...)
}

// job is one group to restore: its selected snapshot, or why none was.
// When ref is set, the manifest of ref is still to be read (m holds only
// its Ref), and the group's problems are still to be found.
type job struct {
	group    []byte
	m        uploader.Manifest
	ref      bool
	refs     []uploader.Ref // with ref: the group's snapshots, oldest first
	err      error
	problems []error
}

// plan lists the backups, selects each group's snapshot and finds each
// group's chain and head problems. A listing error that still returned
// manifests is returned beside the jobs; errors about one group's
// objects are that group's problems.
func plan(ctx context.Context, src Source, req Request, au *audit, force bool) ([]job, error) {
	latest := req.All && req.Select == (Selector{})
	if rs, ok := src.(RefSource); ok && latest {
		return planLatest(ctx, rs, au)
	}
	// With force, a group whose newest manifest does not verify is
	// restored from the newest that does: every manifest is read.
	latest = latest && !force
	var (
		ms  []uploader.Manifest
		err error
	)
	switch {
	case latest:
		ms, err = src.ListLatest(ctx)
	case req.All:
		ms, err = src.List(ctx, nil)
	default:
		ms, err = src.List(ctx, req.Group)
	}
	bad, rest := SplitByGroup(err)
	var listErr error
	if len(rest) > 0 {
		listErr = fmt.Errorf("list snapshots: %w", errors.Join(rest...))
	}
	groups := [][]byte{req.Group}
	if req.All {
		groups = groupsOf(ms)
		for g := range bad {
			if !slices.ContainsFunc(groups, func(h []byte) bool { return string(h) == g }) {
				groups = append(groups, []byte(g))
			}
		}
	}
	jobs := make([]job, 0, len(groups))
	for _, g := range groups {
		var mine []uploader.Manifest
		for _, m := range ms {
			if bytes.Equal(m.GroupID, g) {
				mine = append(mine, m)
			}
		}
		m, perr := req.Select.pick(mine, g)
		if perr != nil && (len(bad[string(g)]) > 0 || listErr != nil) {
			// The listing failed: say so rather than "no snapshot".
			perr = fmt.Errorf("list snapshots: %w", errors.Join(append(bad[string(g)], listErr)...))
		}
		jobs = append(jobs, job{group: g, m: m, err: perr, problems: au.groupErrors(g, mine, !latest, bad[string(g)])})
	}
	if req.All {
		has := func(g []byte) bool {
			return slices.ContainsFunc(groups, func(h []byte) bool { return bytes.Equal(g, h) })
		}
		jobs = append(jobs, au.missing(has)...)
		if len(jobs) == 0 && err == nil {
			return nil, fmt.Errorf("list snapshots: %w: the backup set holds no complete snapshot", uploader.ErrNoSnapshot)
		}
	}
	if !req.All && jobs[0].err != nil {
		jobs[0].err = fmt.Errorf("select %s snapshot: %w", req.Select, jobs[0].err)
		return jobs, nil
	}
	return jobs, listErr
}

// planLatest selects the newest complete snapshot of every group from a
// key listing; the workers read the manifests. A group that the newest
// head names but the listing lacks is a failed job.
func planLatest(ctx context.Context, src RefSource, au *audit) ([]job, error) {
	refs, err := src.ListRefs(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var jobs []job
	present := map[string]bool{}
	start := 0
	for i, r := range refs {
		present[string(r.GroupID)] = true
		if i+1 == len(refs) || !bytes.Equal(refs[i+1].GroupID, r.GroupID) {
			jobs = append(jobs, job{group: r.GroupID, m: uploader.Manifest{Ref: r}, ref: true, refs: refs[start : i+1]})
			start = i + 1
		}
	}
	jobs = append(jobs, au.missing(func(g []byte) bool { return present[string(g)] })...)
	if len(jobs) == 0 {
		return nil, fmt.Errorf("list snapshots: %w: the backup set holds no complete snapshot", uploader.ErrNoSnapshot)
	}
	return jobs, nil
}

// readNewest reads the manifest of the newest of refs (one group's,
// oldest first), under the head h. If it does not verify and force is set, it reads the
// next newest instead, and so on: the manifests that did not verify are
// returned as bad, the group's problems. A read that failed for another
// reason than a check (the store) is returned as the error.
func readNewest(ctx context.Context, src RefSource, refs []uploader.Ref, h *uploader.Head, force bool) (uploader.Manifest, []error, error) {
	var bad []error
	for i := len(refs) - 1; i >= 0; i-- {
		m, err := src.ReadManifestUnder(ctx, refs[i], h)
		if err == nil {
			return m, bad, nil
		}
		c := uploader.FailedCheck(err)
		if !force || c == "" || (c == uploader.CheckDownload && !errors.Is(err, uploader.ErrNotFound)) {
			return uploader.Manifest{}, nil, err
		}
		bad = append(bad, err)
	}
	return uploader.Manifest{}, nil, errors.Join(bad...)
}

// localGroups returns the set of groups dst holds when it can list them
// and every group is restored, else nil (ask dst group by group).
func localGroups(ctx context.Context, dst Target, req Request) map[string]bool {
	gl, ok := dst.(GroupLister)
	if !ok || !req.All {
		return nil
	}
	groups, err := gl.LocalGroups(ctx)
	if err != nil {
		return nil // each group's LocalEpoch reports it
	}
	set := make(map[string]bool, len(groups))
	for _, g := range groups {
		set[string(g)] = true
	}
	return set
}

// restoreOne runs the steps of the package doc for one group. local, if
// not nil, is the set of groups dst held before the restore.
func restoreOne(ctx context.Context, src Source, dst Target, j job, local map[string]bool, opts Options, au *audit) (r Result) {
	start := time.Now()
	r = Result{Group: j.group, Snapshot: j.m, Head: au.head}
	defer func() {
		r.Duration = time.Since(start)
		if r.Err != nil {
			r.Status = StatusFailed
			r.Err = &GroupError{Group: j.group, Key: j.m.Key, Err: r.Err}
		}
	}()
	if j.err != nil {
		r.Err = j.err
		return r
	}
	if j.ref {
		m, bad, err := readNewest(ctx, src.(RefSource), j.refs, au.head, opts.Force)
		if err != nil {
			r.Err = fmt.Errorf("list snapshots: %w", err)
			return r
		}
		j.m, r.Snapshot = m, m
		j.problems = au.groupErrors(j.group, []uploader.Manifest{m}, false, bad)
	}
	r.Problems = j.problems
	if len(j.problems) > 0 && !opts.Force {
		r.Err = fmt.Errorf("%w: %w", ErrIntegrity, errors.Join(j.problems...))
		return r
	}
	var buf bytes.Buffer
	if err := src.Fetch(ctx, j.m, &buf); err != nil {
		r.Err = fmt.Errorf("download: %w", err)
		return r
	}
	// A target that verifies while importing checks the snapshot in the
	// import (nothing is stored unless it matches the manifest); until
	// then the manifest's epoch, which the check enforces, stands for the
	// snapshot's. Otherwise the snapshot is verified on its own first.
	ci, oneStep := dst.(checkedImporter)
	oneStep = oneStep && !opts.DryRun
	snapEpoch := j.m.Epoch
	if !oneStep {
		info, err := checkSnapshot(ctx, buf.Bytes(), j.m)
		if err != nil {
			r.Err = err
			return r
		}
		snapEpoch = info.Epoch
	}
	r.AuthenticatorChecked = len(j.m.EpochAuthenticator) > 0
	var (
		epoch uint64
		had   bool
		lerr  error
	)
	if local == nil || local[string(j.group)] {
		epoch, had, lerr = dst.LocalEpoch(ctx, j.group)
	}
	r.HadLocal, r.LocalEpoch = had, epoch
	switch {
	case lerr != nil && !had:
		r.Err = fmt.Errorf("read local group: %w", lerr)
		return r
	case lerr != nil && !opts.Force:
		r.Err = fmt.Errorf("%w: %w", ErrLocalUnreadable, lerr)
		return r
	case had && lerr == nil && epoch > snapEpoch && !opts.Force:
		r.Err = fmt.Errorf("%w: local epoch %d, snapshot epoch %d", ErrRollback, epoch, snapEpoch)
		return r
	case had && lerr == nil && epoch == snapEpoch && !opts.Force:
		if oneStep { // report a snapshot that does not verify even so
			if _, err := checkSnapshot(ctx, buf.Bytes(), j.m); err != nil {
				r.Err = err
				return r
			}
		}
		r.Status = StatusUpToDate
		return r
	}
	if opts.DryRun {
		r.Status = StatusWouldRestore
		return r
	}
	if oneStep {
		check := func(info engine.SnapshotInfo) error {
			if err := matchManifest(info, j.m); err != nil {
				return snapshotErr(j.m, err)
			}
			return nil
		}
		if _, err := ci.importChecked(ctx, buf.Bytes(), had, check); err != nil {
			r.Err = err
			return r
		}
		r.Status = StatusRestored
		return r
	}
	if _, err := dst.Import(ctx, buf.Bytes(), had); err != nil {
		r.Err = fmt.Errorf("import: %w", err)
		return r
	}
	r.Status = StatusRestored
	return r
}

// matchManifest checks that the snapshot described by info is the one the
// manifest m recorded: group id, epoch and epoch authenticator.
func matchManifest(info engine.SnapshotInfo, m uploader.Manifest) error {
	switch {
	case !bytes.Equal(info.GroupID, m.GroupID):
		return fmt.Errorf("%w: it holds group %x", ErrMismatch, info.GroupID)
	case info.Epoch != m.Epoch:
		return fmt.Errorf("%w: it holds epoch %d, the manifest says %d", ErrMismatch, info.Epoch, m.Epoch)
	case len(m.EpochAuthenticator) > 0 && subtle.ConstantTimeCompare(info.EpochAuthenticator, m.EpochAuthenticator) != 1:
		return fmt.Errorf("%w: epoch authenticator differs", ErrMismatch)
	}
	return nil
}

func logResult(log *slog.Logger, r Result) {
	attrs := []any{"group", fmt.Sprintf("%x", r.Group), "status", string(r.Status)}
	if r.Snapshot.Key != "" {
		attrs = append(attrs, "epoch", r.Snapshot.Epoch, "snapshot", r.Snapshot.Key)
	}
	if r.Err != nil {
		log.Warn("restore group", append(attrs, "err", r.Err)...)
		return
	}
	log.Info("restore group", attrs...)
}
