package migrate

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// ErrSameRecipients: the new recipients include the old identity, so a
// rekey would change nothing.
var ErrSameRecipients = errors.New("migrate: the old identity can decrypt what is encrypted to the new recipients")

// CheckRecipients fails with [ErrSameRecipients] if oldIDs can decrypt a
// file encrypted to newRecipients: a rekey to them would not retire the
// old identity, and a rerun would rekey its own replacements again.
func CheckRecipients(newRecipients []age.Recipient, oldIDs []age.Identity) error {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, newRecipients...)
	if err != nil {
		return fmt.Errorf("new recipients: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("new recipients: %w", err)
	}
	if _, err := age.Decrypt(&buf, oldIDs...); err == nil {
		return ErrSameRecipients
	}
	return nil
}

// RekeyOptions configure [Rekey].
type RekeyOptions struct {
	// Progress receives a step per snapshot; nil: none.
	Progress Progress
}

// RekeyReport is what [Rekey] did.
type RekeyReport struct {
	// Rekeyed are the replacements written and checked by this run.
	Rekeyed []uploader.Ref
	// Retired are the originals deleted (their replacements checked).
	Retired []uploader.Ref
	// Unreadable are the snapshots the old identity cannot decrypt,
	// other than replacements: left as they are.
	Unreadable []uploader.Ref
	// Kept are originals kept although replaced: a snapshot before them
	// in the group's chain stays (deleting them would break the chain).
	Kept []uploader.Ref
	// Failed joins an error per snapshot or group that could not be
	// rekeyed; its originals are kept.
	Failed []error
	// Head is the head written, nil if none.
	Head *uploader.Head
}

// Err returns nil if every snapshot readable with the old identity was
// replaced and retired.
func (r *RekeyReport) Err() error {
	errs := append([]error(nil), r.Failed...)
	if len(r.Kept) > 0 {
		errs = append(errs, fmt.Errorf("%d replaced snapshots kept: an older snapshot the old identity cannot read precedes them in their group's chain (prune it, then rerun)", len(r.Kept)))
	}
	return errors.Join(errs...)
}

// Rekey re-encrypts every snapshot of b that b's identities (the old
// identity) decrypt to b's recipients (the new ones), signed by b's
// signing key, checks each replacement, writes a head and retires the
// originals: see the package doc. Call [CheckRecipients] first. b needs
// identities, recipients, a signing key and an agent id (see [LeaseID]).
// It returns an error for what stops the whole run (a listing error, the
// lease); the report says what happened to each snapshot.
func Rekey(ctx context.Context, b *uploader.Backup, opts RekeyOptions) (*RekeyReport, error) {
	prog := progressOr(opts.Progress)
	ms, listErr := b.List(ctx, nil)
	bad, rest := listErrors(listErr)
	if rest != nil {
		return nil, fmt.Errorf("rekey: list %s: %w", b, rest)
	}
	if err := b.LoadChainFrom(ctx, ms); err != nil {
		return nil, fmt.Errorf("rekey %s: %w", b, err)
	}
	rep := &RekeyReport{}
	groups, order := byGroup(ms)
	total, done := len(ms), 0
	retire := map[string][]pair{}
	for _, g := range order {
		gms := groups[g]
		if errs := bad[g]; len(errs) > 0 {
			rep.Failed = append(rep.Failed, fmt.Errorf("group %x not rekeyed: %w", g, errors.Join(errs...)))
			done += len(gms)
			continue
		}
		pairs, err := rekeyGroup(ctx, b, gms, rep, func(verb string, r uploader.Ref) {
			done++
			prog.Step(verb, done, total, r)
		})
		if err != nil {
			return rep, fmt.Errorf("rekey %s: %w", b, err)
		}
		retire[g] = pairs
	}
	n := 0
	for _, ps := range retire {
		n += len(ps)
	}
	// A head only when something changes: replacements written now, or
	// found from a killed run and still to be named before retiring.
	if n > 0 || len(rep.Rekeyed) > 0 {
		var err error
		if rep.Head, err = b.WriteHead(ctx); err != nil {
			return rep, fmt.Errorf("rekey: write head at %s: %w", b, err)
		}
	}
	done = 0
	for _, g := range order {
		if err := retireGroup(ctx, b, groups[g], retire[g], rep, func(r uploader.Ref) {
			done++
			prog.Step("retired", done, n, r)
		}); err != nil {
			return rep, fmt.Errorf("rekey %s: %w", b, err)
		}
	}
	if err := releaseOwn(ctx, b); err != nil {
		return rep, fmt.Errorf("rekey: %w", err)
	}
	return rep, nil
}

// pair is an original and its checked replacement.
type pair struct{ old, repl uploader.Manifest }

// replaces reports whether r is the replacement of o that Rekey writes:
// the same snapshot, created a nanosecond later, signed after it.
func replaces(r, o uploader.Manifest) bool {
	return r.ID != o.ID && r.Created.Equal(o.Created.Add(time.Nanosecond)) && sameSnapshot(r, o) &&
		r.Signed() && r.Sequence > o.Sequence
}

// rekeyGroup rekeys the snapshots of one group (gms, oldest first) that
// have no replacement yet, checks each replacement, and returns the
// originals to retire. step reports each snapshot.
func rekeyGroup(ctx context.Context, b *uploader.Backup, gms []uploader.Manifest, rep *RekeyReport, step func(string, uploader.Ref)) ([]pair, error) {
	repl := map[string]uploader.Manifest{} // original's key → its replacement
	isRepl := map[string]bool{}
	for _, r := range gms {
		for _, o := range gms {
			if replaces(r, o) {
				repl[o.Key], isRepl[r.Key] = r, true
			}
		}
	}
	var out []pair
	for _, o := range gms {
		if isRepl[o.Key] {
			step("replacement", o.Ref)
			continue
		}
		r, found := repl[o.Key]
		verb := "checked"
		if !found {
			var err error
			r, err = rekeyOne(ctx, b, o)
			switch {
			case errors.Is(err, uploader.ErrNoIdentity):
				rep.Unreadable = append(rep.Unreadable, o.Ref)
				step("unreadable", o.Ref)
				continue
			case fatal(ctx, err):
				return nil, err
			case err != nil:
				rep.Failed = append(rep.Failed, err)
				step("FAILED", o.Ref)
				continue
			}
			rep.Rekeyed = append(rep.Rekeyed, r.Ref)
			verb = "rekeyed"
		}
		if _, err := checkReplacement(ctx, b, r, o); err != nil {
			rep.Failed = append(rep.Failed, err)
			step("FAILED", o.Ref)
			continue
		}
		out = append(out, pair{old: o, repl: r})
		step(verb, o.Ref)
	}
	return out, nil
}

// rekeyOne decrypts o with b's identities and uploads it to b's
// recipients as its replacement. A snapshot the identities cannot
// decrypt fails with an error wrapping [uploader.ErrNoIdentity] and
// leaves nothing visible.
func rekeyOne(ctx context.Context, b *uploader.Backup, o uploader.Manifest) (uploader.Manifest, error) {
	pr, pw := io.Pipe()
	fetched := make(chan error, 1)
	go func() {
		err := b.Fetch(ctx, o, pw)
		// The upload sees EOF only after every check of the original
		// passed: the encryptor needs EOF to finish the manifest.
		pw.CloseWithError(err)
		fetched <- err
	}()
	// age opens the header before the first plaintext byte: wait for
	// it, so that a snapshot the identities cannot decrypt starts no
	// upload (which on a directory would leave its empty directory).
	br := bufio.NewReader(pr)
	if _, err := br.Peek(1); err != nil && !errors.Is(err, io.EOF) {
		pr.CloseWithError(errors.New("not uploaded"))
		if fetchErr := <-fetched; fetchErr != nil {
			return uploader.Manifest{}, fetchErr
		}
		return uploader.Manifest{}, err
	}
	meta := uploader.SnapshotMeta{GroupID: o.GroupID, Epoch: o.Epoch, Created: o.Created.Add(time.Nanosecond),
		Size: o.PlaintextSize, Format: o.SnapshotFormat, EpochAuthenticator: o.EpochAuthenticator}
	r, upErr := b.Upload(ctx, meta, br)
	pr.CloseWithError(errors.New("upload ended"))
	fetchErr := <-fetched
	switch {
	case errors.Is(fetchErr, uploader.ErrNoIdentity):
		return uploader.Manifest{}, fetchErr
	case upErr != nil:
		return uploader.Manifest{}, upErr
	case fetchErr != nil:
		return uploader.Manifest{}, fetchErr
	}
	return r, nil
}

// checkReplacement checks r, o's replacement: read back, signed, the same
// snapshot as o, its age file as its manifest says.
func checkReplacement(ctx context.Context, b *uploader.Backup, r, o uploader.Manifest) (uploader.Manifest, error) {
	got, err := b.ReadManifest(ctx, r.Ref)
	switch {
	case err != nil:
		return got, err
	case !got.Signed() || !sameSnapshot(got, o) || (r.Signed() && got.PayloadSHA256 != r.PayloadSHA256):
		return got, &uploader.ObjectError{Op: "check replacement", Key: r.Key,
			Err: fmt.Errorf("%w: not the replacement of %s", uploader.ErrCorrupt, o.Key)}
	}
	return got, b.VerifyCiphertext(ctx, got)
}

// retireGroup deletes the originals of pairs, the group's oldest first in
// chain order, while head names a manifest of the group that is not one
// of them; it stops at the first manifest that stays.
func retireGroup(ctx context.Context, b *uploader.Backup, gms []uploader.Manifest, pairs []pair, rep *RekeyReport, step func(uploader.Ref)) error {
	if len(pairs) == 0 {
		return nil
	}
	del := map[string]bool{}
	for _, p := range pairs {
		del[p.old.Key] = true
	}
	if e, ok := rep.Head.Groups[pairs[0].old.GroupHex()]; ok {
		for _, m := range gms {
			if del[m.Key] && m.Epoch == e.Epoch && m.ID == e.ID {
				rep.Failed = append(rep.Failed, fmt.Errorf("group %s: the head names the original %s, not a replacement: originals kept", m.GroupHex(), m.Key))
				return nil
			}
		}
	}
	bySeq := slices.Clone(gms)
	slices.SortFunc(bySeq, func(a, b uploader.Manifest) int { return cmp.Compare(a.Sequence, b.Sequence) })
	for i, m := range bySeq {
		if !del[m.Key] {
			for _, k := range bySeq[i:] {
				if del[k.Key] {
					rep.Kept = append(rep.Kept, k.Ref)
				}
			}
			return nil
		}
		if err := b.Retire(ctx, m.Ref); err != nil {
			if fatal(ctx, err) {
				return err
			}
			rep.Failed = append(rep.Failed, err)
			return nil
		}
		rep.Retired = append(rep.Retired, m.Ref)
		step(m.Ref)
	}
	return nil
}
