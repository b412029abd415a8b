package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mlsbackup/mlsbackup/internal/restore"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// LeaseID returns the agent id under which [Copy] (op "copy") or [Rekey]
// (op "rekey") run for agent agentID write, and so hold the prefix's
// lease: not the agent's own, so that a running agent's lease stops them.
func LeaseID(agentID, op string) string { return agentID + "+" + op }

// snapshotID names a snapshot by its place in the layout, whatever the
// prefix: group, epoch and id.
func snapshotID(r uploader.Ref) string {
	return fmt.Sprintf("%s/%d/%s", r.GroupHex(), r.Epoch, r.ID)
}

// after reports whether a sorts after b within one group (by epoch,
// creation time and id, as listings sort).
func after(a, b uploader.Ref) bool {
	switch {
	case a.Epoch != b.Epoch:
		return a.Epoch > b.Epoch
	case !a.Created.Equal(b.Created):
		return a.Created.After(b.Created)
	}
	return strings.Compare(a.ID, b.ID) > 0
}

// sameContent reports whether two manifests describe the same age file
// of the same snapshot.
func sameContent(a, b uploader.Manifest) bool {
	return a.Inline() == b.Inline() && sameSnapshot(a, b) &&
		a.CiphertextSize == b.CiphertextSize && a.CiphertextSHA256 == b.CiphertextSHA256
}

// sameSnapshot reports whether two manifests describe the same plaintext
// snapshot (group, epoch, format, epoch authenticator, size, digest).
func sameSnapshot(a, b uploader.Manifest) bool {
	return bytes.Equal(a.GroupID, b.GroupID) && a.Epoch == b.Epoch &&
		a.SnapshotFormat == b.SnapshotFormat && bytes.Equal(a.EpochAuthenticator, b.EpochAuthenticator) &&
		a.PlaintextSize == b.PlaintextSize && a.PlaintextSHA256 == b.PlaintextSHA256
}

// byGroup returns the manifests of ms (sorted by group, as List returns
// them) per group id, and the group ids in order.
func byGroup(ms []uploader.Manifest) (map[string][]uploader.Manifest, []string) {
	out := map[string][]uploader.Manifest{}
	var order []string
	for _, m := range ms {
		g := string(m.GroupID)
		if _, ok := out[g]; !ok {
			order = append(order, g)
		}
		out[g] = append(out[g], m)
	}
	return out, order
}

// listErrors sorts the error of a List by the group each object error
// names; what names no snapshot (a listing error) is returned as rest.
func listErrors(err error) (groups map[string][]error, rest error) {
	groups, others := restore.SplitByGroup(err)
	return groups, errors.Join(others...)
}

// checkBack reads m's manifest back from b and checks that it is the one
// just written (want) or, for a snapshot found there, that it holds the
// same age file as the source's (want): its signature and location
// verified, and the age file's size and SHA-256 (with decrypt, the
// plaintext too, which needs b's identities).
func checkBack(ctx context.Context, b *uploader.Backup, ref uploader.Ref, want uploader.Manifest, decrypt bool) (uploader.Manifest, error) {
	got, err := b.ReadManifest(ctx, ref)
	if err != nil {
		return got, err
	}
	if !got.Signed() {
		return got, &uploader.ObjectError{Op: "check", Key: ref.Key, Err: uploader.ErrUnsigned}
	}
	if !sameContent(got, want) {
		return got, &uploader.ObjectError{Op: "check", Key: ref.Key,
			Err: fmt.Errorf("%w: holds another snapshot than the source's %s", uploader.ErrCorrupt, want.Key)}
	}
	if decrypt {
		return got, b.Verify(ctx, got)
	}
	return got, b.VerifyCiphertext(ctx, got)
}

// fatal reports whether err stops the whole run rather than one snapshot.
func fatal(ctx context.Context, err error) bool {
	return errors.Is(err, uploader.ErrLeaseHeld) || errors.Is(err, uploader.ErrNoAgentID) ||
		errors.Is(err, uploader.ErrNoSigningKey) || ctx.Err() != nil
}
