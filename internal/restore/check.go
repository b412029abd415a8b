package restore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// audit is what restore and verify know of a backup set beyond each
// object: its newest head that verifies, and the head objects newer than
// it that do not. Both use its checks, so that verify checks everything
// restore does.
type audit struct {
	head *uploader.Head
	// badHeads joins an error per head object newer than head that does
	// not verify; it concerns every group.
	badHeads error
	now      time.Time
}

// readAudit reads the newest head of src. A listing or read error of the
// store is returned; heads that do not verify are kept in badHeads.
func readAudit(ctx context.Context, src Source) (*audit, error) {
	h, err := src.ReadHead(ctx)
	a := &audit{head: h, now: time.Now()}
	if err != nil {
		if uploader.FailedCheck(err) == uploader.CheckDownload || !isObjectErrs(err) {
			return nil, fmt.Errorf("read head: %w", err)
		}
		a.badHeads = err
	}
	return a, nil
}

// isObjectErrs reports whether err is (or joins only) *ObjectErrors.
func isObjectErrs(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !isObjectErrs(e) {
				return false
			}
		}
		return true
	}
	var oe *uploader.ObjectError
	return errors.As(err, &oe)
}

// groupErrors checks one group's backups beyond each object: the heads,
// the chain of ms when all is set (ms is then every manifest of the
// group that verified; with all unset, only those the reader read, such
// as the newest), and what the newest head says of the group. bad are
// the errors of the group's manifests that did not verify. It returns
// one error per problem, each naming the object and the check.
func (a *audit) groupErrors(group []byte, ms []uploader.Manifest, all bool, bad []error) []error {
	var errs []error
	if a.badHeads != nil {
		errs = append(errs, a.badHeads)
	}
	errs = append(errs, bad...)
	if all {
		chain := uploader.ChainErrors(ms)
		for _, k := range slices.Sorted(maps.Keys(chain)) {
			errs = append(errs, chain[k])
		}
	}
	if err := uploader.HeadError(a.head, group, ms, a.now); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// missing returns the groups the newest head names of which the prefix
// holds nothing (has reports whether it holds something), each with the
// error to report.
func (a *audit) missing(has func(group []byte) bool) []job {
	var out []job
	for _, g := range uploader.MissingGroups(a.head, has) {
		out = append(out, job{group: g, err: fmt.Errorf("%w: %w", ErrIntegrity, uploader.HeadError(a.head, g, nil, a.now))})
	}
	return out
}

// SplitByGroup sorts the errors joined in err (as a List returns them)
// into those about one group's objects (by the group their key names)
// and the rest.
func SplitByGroup(err error) (byGroup map[string][]error, rest []error) {
	byGroup = map[string][]error{}
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var oe *uploader.ObjectError
		if errors.As(e, &oe) {
			if g := uploader.KeyGroup(oe.Key); g != nil {
				byGroup[string(g)] = append(byGroup[string(g)], e)
				return
			}
		}
		rest = append(rest, e)
	}
	walk(err)
	return byGroup, rest
}

// checkSnapshot parses a decrypted snapshot on its own (format, checksum,
// a complete and consistent group) and compares it with its signed
// manifest m: group id, epoch and epoch authenticator. A failure is a
// [uploader.CheckSnapshot] failure naming m's object.
func checkSnapshot(ctx context.Context, data []byte, m uploader.Manifest) (engine.SnapshotInfo, error) {
	info, err := engine.ImportSnapshot(ctx, engine.NewMemStorage(), data, false)
	if err == nil {
		err = matchManifest(info, m)
	}
	if err != nil {
		return info, snapshotErr(m, err)
	}
	return info, nil
}

// snapshotErr reports err as a failure of the snapshot check of m.
func snapshotErr(m uploader.Manifest, err error) error {
	key := m.Key
	if !m.Inline() {
		key = m.DataKey
	}
	return &uploader.ObjectError{Op: "verify snapshot", Key: key, Err: &uploader.CheckError{Check: uploader.CheckSnapshot, Err: err}}
}
