package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// CopyOptions configure [Copy].
type CopyOptions struct {
	// Decrypt checks each copy by decrypting it at the target (the
	// target Backup needs the identities); without it the copy's age
	// file is checked by size and SHA-256 only.
	Decrypt bool
	// Progress receives a step per snapshot; nil: none.
	Progress Progress
	// Now is the clock that dates heads in messages; default time.Now.
	Now func() time.Time
}

// CopyReport is what [Copy] did.
type CopyReport struct {
	// Copied were copied and checked; Present were at the target already
	// and checked.
	Copied, Present []uploader.Ref
	// Behind were not copied: the target holds a newer snapshot of
	// their group (see the package doc).
	Behind []uploader.Ref
	// Failed joins an error per snapshot or group not copied for a
	// failed check, at the source or at the target.
	Failed []error
	// Head is the head written at the target, nil if none was needed.
	Head *uploader.Head
}

// Err returns nil if every snapshot of the source is at the target, else
// an error saying what is not.
func (r *CopyReport) Err() error {
	errs := append([]error(nil), r.Failed...)
	if len(r.Behind) > 0 {
		errs = append(errs, fmt.Errorf("%d snapshots not copied: the target holds a newer snapshot of their group", len(r.Behind)))
	}
	return errors.Join(errs...)
}

// Copy copies every complete, signed snapshot of src that dst lacks to
// dst, re-signed by dst's signing key, and checks each: see the package
// doc. dst needs a signing key and an agent id (see [LeaseID]). It
// returns an error for what stops the whole copy (a listing error, a bad
// source head, the target's lease); the report says what happened to
// each snapshot.
func Copy(ctx context.Context, src, dst *uploader.Backup, opts CopyOptions) (*CopyReport, error) {
	if src.String() == dst.String() {
		return nil, fmt.Errorf("copy: source and target are the same backup set %s", src)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	prog := progressOr(opts.Progress)
	rep := &CopyReport{}
	groups, order, err := auditSource(ctx, src, opts.Now(), rep)
	if err != nil {
		return nil, err
	}
	tgt, err := readTarget(ctx, dst, rep)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, ms := range groups {
		total += len(ms)
	}
	done := 0
	for _, g := range order {
		for _, m := range groups[g] {
			done++
			verb, err := copyOne(ctx, src, dst, m, tgt, opts.Decrypt, rep)
			if fatal(ctx, err) {
				return rep, fmt.Errorf("copy to %s: %w", dst, err)
			}
			if err != nil {
				rep.Failed = append(rep.Failed, err)
			}
			prog.Step(verb, done, total, m.Ref)
		}
	}
	if len(rep.Copied) > 0 || !headCurrent(ctx, dst, tgt.newest) {
		if rep.Head, err = dst.WriteHead(ctx); err != nil {
			return rep, fmt.Errorf("copy: write head at %s: %w", dst, err)
		}
	}
	if err := releaseOwn(ctx, dst); err != nil {
		return rep, fmt.Errorf("copy: %w", err)
	}
	return rep, nil
}

// copyOne copies m to dst unless dst has it (checked) or a newer
// snapshot of its group; it returns the progress verb.
func copyOne(ctx context.Context, src, dst *uploader.Backup, m uploader.Manifest, tgt *target, decrypt bool, rep *CopyReport) (string, error) {
	id := snapshotID(m.Ref)
	if t, ok := tgt.have[id]; ok {
		if _, err := checkBack(ctx, dst, t.Ref, m, decrypt); err != nil {
			return "FAILED", err
		}
		rep.Present = append(rep.Present, t.Ref)
		return "present", nil
	}
	if err, ok := tgt.bad[id]; ok {
		return "FAILED", err
	}
	if n, ok := tgt.newest[string(m.GroupID)]; ok && after(n, m.Ref) {
		rep.Behind = append(rep.Behind, m.Ref)
		return "behind", nil
	}
	c, err := dst.CopyFrom(ctx, src, m)
	if err != nil {
		return "FAILED", err
	}
	got, err := checkBack(ctx, dst, c.Ref, m, decrypt)
	if err == nil && got.PayloadSHA256 != c.PayloadSHA256 {
		err = &uploader.ObjectError{Op: "check", Key: c.Key, Err: fmt.Errorf("%w: not the manifest just written", uploader.ErrCorrupt)}
	}
	if err != nil {
		return "FAILED", err
	}
	tgt.newest[string(m.GroupID)] = c.Ref
	rep.Copied = append(rep.Copied, c.Ref)
	return "copied", nil
}

// auditSource reads src's head and manifests and checks each group as
// verify does (without decrypting); it returns the groups that pass, and
// adds a failure to rep for each that does not.
func auditSource(ctx context.Context, src *uploader.Backup, now time.Time, rep *CopyReport) (map[string][]uploader.Manifest, []string, error) {
	head, err := src.ReadHead(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("copy: source %s: read head: %w", src, err)
	}
	ms, listErr := src.List(ctx, nil)
	bad, rest := listErrors(listErr)
	if rest != nil {
		return nil, nil, fmt.Errorf("copy: list %s: %w", src, rest)
	}
	groups, order := byGroup(ms)
	var keep []string
	for _, g := range order {
		gms := groups[g]
		errs := bad[string(g)]
		for _, m := range gms {
			if !m.Signed() {
				errs = append(errs, &uploader.ObjectError{Op: "copy", Key: m.Key, Err: uploader.ErrUnsigned})
			}
		}
		for _, e := range uploader.ChainErrors(gms) {
			errs = append(errs, e)
		}
		if e := uploader.HeadError(head, []byte(g), gms, now); e != nil {
			errs = append(errs, e)
		}
		if len(errs) > 0 {
			rep.Failed = append(rep.Failed, fmt.Errorf("group %x not copied: the source fails a check: %w", g, errors.Join(errs...)))
			delete(groups, g)
			continue
		}
		keep = append(keep, g)
	}
	for g, errs := range bad {
		if _, ok := groups[g]; !ok && !contains(order, g) {
			rep.Failed = append(rep.Failed, fmt.Errorf("group %x not copied: the source fails a check: %w", g, errors.Join(errs...)))
		}
	}
	has := func(g []byte) bool { return contains(order, string(g)) || bad[string(g)] != nil }
	for _, g := range uploader.MissingGroups(head, has) {
		rep.Failed = append(rep.Failed, fmt.Errorf("group %x not copied: %w", g, uploader.HeadError(head, g, nil, now)))
	}
	return groups, keep, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// target is what the target holds: its snapshots that verify, by
// [snapshotID]; the errors of those that do not; and each group's newest
// snapshot.
type target struct {
	have   map[string]uploader.Manifest
	bad    map[string]error
	newest map[string]uploader.Ref
}

func readTarget(ctx context.Context, dst *uploader.Backup, rep *CopyReport) (*target, error) {
	refs, err := dst.ListRefs(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("copy: list %s: %w", dst, err)
	}
	t := &target{have: map[string]uploader.Manifest{}, bad: map[string]error{}, newest: map[string]uploader.Ref{}}
	for _, r := range refs {
		t.newest[string(r.GroupID)] = r // refs are sorted: the last wins
	}
	ms, listErr := dst.List(ctx, nil)
	for _, m := range ms {
		t.have[snapshotID(m.Ref)] = m
	}
	if err := dst.LoadChainFrom(ctx, ms); err != nil {
		return nil, fmt.Errorf("copy: %s: %w", dst, err)
	}
	bad, rest := listErrors(listErr)
	if rest != nil {
		return nil, fmt.Errorf("copy: list %s: %w", dst, rest)
	}
	for _, r := range refs {
		if _, ok := t.have[snapshotID(r)]; !ok {
			t.bad[snapshotID(r)] = fmt.Errorf("target %s does not verify: %w", r.Key, errors.Join(bad[string(r.GroupID)]...))
		}
	}
	return t, nil
}

// headCurrent reports whether dst's newest head names every group's
// newest snapshot (else a head is written, e.g. after a copy that died
// before writing its own).
func headCurrent(ctx context.Context, dst *uploader.Backup, newest map[string]uploader.Ref) bool {
	h, err := dst.ReadHead(ctx)
	if err != nil || h == nil {
		return len(newest) == 0 && err == nil
	}
	for g, r := range newest {
		e, ok := h.Groups[fmt.Sprintf("%x", g)]
		if !ok || e.Epoch != r.Epoch || e.ID != r.ID {
			return false
		}
	}
	return true
}

// releaseOwn gives up the prefix's lease if this run holds it.
func releaseOwn(ctx context.Context, b *uploader.Backup) error {
	err := b.ReleaseLease(ctx)
	if errors.Is(err, uploader.ErrLeaseHeld) {
		return nil // never held it: nothing was written
	}
	return err
}
