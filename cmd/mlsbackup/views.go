package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/restore"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// manifestView is the JSON shape of one snapshot in list and verify output.
type manifestView struct {
	GroupID            string    `json:"group_id"`
	Epoch              uint64    `json:"epoch"`
	Created            time.Time `json:"created"`
	ID                 string    `json:"id"`
	AgentID            string    `json:"agent_id"`
	SnapshotFormat     string    `json:"snapshot_format,omitempty"`
	EpochAuthenticator string    `json:"epoch_authenticator,omitempty"`
	PlaintextSize      int64     `json:"plaintext_size"`
	PlaintextSHA256    string    `json:"plaintext_sha256"`
	CiphertextSize     int64     `json:"ciphertext_size"`
	CiphertextSHA256   string    `json:"ciphertext_sha256"`
	Key                string    `json:"key"`
	DataKey            string    `json:"data_key"`
	// Signer and Sequence are the verified signer and the manifest's place
	// in its prefix; empty for an unsigned manifest (--allow-unsigned).
	Signer   string `json:"signer,omitempty"`
	Sequence uint64 `json:"sequence,omitempty"`
}

func viewOf(m uploader.Manifest) manifestView {
	v := manifestView{
		GroupID:            m.GroupHex(),
		Epoch:              m.Epoch,
		Created:            m.Created.UTC(),
		ID:                 m.ID,
		AgentID:            m.AgentID,
		SnapshotFormat:     m.SnapshotFormat,
		EpochAuthenticator: hex.EncodeToString(m.EpochAuthenticator),
		PlaintextSize:      m.PlaintextSize,
		PlaintextSHA256:    hex.EncodeToString(m.PlaintextSHA256[:]),
		CiphertextSize:     m.CiphertextSize,
		CiphertextSHA256:   hex.EncodeToString(m.CiphertextSHA256[:]),
		Key:                m.Key,
		DataKey:            m.DataKey,
		Sequence:           m.Sequence,
	}
	if m.Signed() {
		v.Signer = m.Signer.String()
	}
	return v
}

func manifestViews(ms []uploader.Manifest) []manifestView {
	out := make([]manifestView, 0, len(ms))
	for _, m := range ms {
		out = append(out, viewOf(m))
	}
	return out
}

// verifyView is one object of verify's JSON output: the snapshot's
// manifest fields (if it could be read), which checks passed and which
// one failed.
type verifyView struct {
	Key      string        `json:"key"`
	GroupID  string        `json:"group_id,omitempty"`
	Epoch    *uint64       `json:"epoch,omitempty"`
	OK       bool          `json:"ok"`
	Check    string        `json:"check,omitempty"` // the check that failed
	Error    string        `json:"error,omitempty"`
	Passed   []string      `json:"passed"`
	Manifest *manifestView `json:"manifest,omitempty"`
}

func checkViews(rs []restore.ObjectResult) []verifyView {
	out := make([]verifyView, 0, len(rs))
	for _, r := range rs {
		v := verifyView{Key: r.Key, OK: r.OK(), Check: string(r.Failed), Passed: []string{}}
		if r.Group != nil {
			v.GroupID = hex.EncodeToString(r.Group)
		}
		if r.Manifest != nil {
			mv := viewOf(*r.Manifest)
			v.Manifest, v.Epoch = &mv, &mv.Epoch
		}
		if r.Err != nil {
			v.Error = r.Err.Error()
		}
		for _, c := range r.Passed {
			v.Passed = append(v.Passed, string(c))
		}
		out = append(out, v)
	}
	return out
}

// checkNames lists checks for people.
func checkNames(cs []uploader.Check) string {
	if len(cs) == 0 {
		return "none"
	}
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// pruneView is prune's JSON output.
type pruneView struct {
	DryRun       bool     `json:"dry_run"`
	Kept         []refV   `json:"kept"`
	Deleted      []refV   `json:"deleted"`
	Orphans      []string `json:"orphans_deleted"`
	YoungOrphans []string `json:"young_orphans_left"`
	StaleTemps   []string `json:"temp_files_deleted"`
	Unknown      []string `json:"unknown_keys"`
}

type refV struct {
	GroupID string    `json:"group_id"`
	Epoch   uint64    `json:"epoch"`
	Created time.Time `json:"created"`
	ID      string    `json:"id"`
}

func refViews(rs []uploader.Ref) []refV {
	out := make([]refV, 0, len(rs))
	for _, r := range rs {
		out = append(out, refV{GroupID: r.GroupHex(), Epoch: r.Epoch, Created: r.Created.UTC(), ID: r.ID})
	}
	return out
}

func pruneViewOf(r uploader.PruneReport) pruneView {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return pruneView{
		DryRun:       r.DryRun,
		Kept:         refViews(r.Kept),
		Deleted:      refViews(r.Deleted),
		Orphans:      nonNil(r.Orphans),
		YoungOrphans: nonNil(r.YoungOrphans),
		StaleTemps:   nonNil(r.StaleTemps),
		Unknown:      nonNil(r.Unknown),
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

func printManifests(w io.Writer, where string, ms []uploader.Manifest) {
	if len(ms) == 0 {
		fmt.Fprintf(w, "no snapshots in %s\n", where)
		return
	}
	// The group id comes last and whole, to be copied into --group; a
	// long one does not push the other columns apart.
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EPOCH\tCREATED (UTC)\tSIZE\tENCRYPTED\tAGENT\tGROUP")
	for _, m := range ms {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\n", m.Epoch,
			m.Created.UTC().Format("2006-01-02 15:04:05"), m.PlaintextSize, m.CiphertextSize, m.AgentID, m.GroupHex())
	}
	tw.Flush()
	fmt.Fprintf(w, "%d snapshots in %s\n", len(ms), where)
}

func printVerify(w io.Writer, r restore.ObjectResult) {
	what := r.Key
	if m := r.Manifest; m != nil {
		what = fmt.Sprintf("group %s epoch %d (%s)", m.GroupHex(), m.Epoch, m.ID)
	}
	if r.OK() {
		fmt.Fprintf(w, "ok    %s\n", what)
		return
	}
	fmt.Fprintf(w, "FAIL  %s: %v\n", what, r.Err)
}

// printHead says which head vouches for the backups, and how old it is.
func printHead(w io.Writer, h *uploader.Head) {
	if h == nil {
		fmt.Fprintln(w, "no head: the destination holds no signed head (yet); deleted newest snapshots cannot be detected")
		return
	}
	fmt.Fprintf(w, "head  %s (sequence %d, %d groups) written %s ago by %s\n", h.Key, h.Sequence, len(h.Groups),
		uploader.Age(time.Now(), h.Written), h.AgentID)
}

// pruneEmpty reports whether r lists nothing at all: prune read nothing.
func pruneEmpty(r uploader.PruneReport) bool {
	return len(r.Kept)+len(r.Deleted)+len(r.Orphans)+len(r.YoungOrphans)+len(r.StaleTemps)+len(r.Unknown) == 0
}

func printPrune(w io.Writer, r uploader.PruneReport) {
	verb := "deleted"
	if r.DryRun {
		verb = "would delete"
	}
	for _, d := range r.Deleted {
		fmt.Fprintf(w, "%s group %s epoch %d (%s)\n", verb, d.GroupHex(), d.Epoch, d.ID)
	}
	for _, o := range r.Orphans {
		fmt.Fprintf(w, "%s orphan %s\n", verb, o)
	}
	for _, f := range r.StaleTemps {
		fmt.Fprintf(w, "%s temporary file %s (left by an interrupted write)\n", verb, f)
	}
	for _, o := range r.YoungOrphans {
		fmt.Fprintf(w, "left   %s (no manifest yet; may be an upload in progress)\n", o)
	}
	for _, k := range r.Unknown {
		fmt.Fprintf(w, "left   %s (not in the layout; never touched)\n", k)
	}
	fmt.Fprintf(w, "%s %d snapshots, %d orphans and %d temporary files, kept %d snapshots\n", verb, len(r.Deleted), len(r.Orphans), len(r.StaleTemps), len(r.Kept))
}

// refuseExisting fails if path exists: fetch and group export never
// replace a file. op names the command in the error.
func refuseExisting(op, path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("%s: %s: %w (refusing to overwrite; choose another --out)", op, path, fs.ErrExist)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}
