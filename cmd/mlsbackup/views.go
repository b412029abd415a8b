package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

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
}

func viewOf(m uploader.Manifest) manifestView {
	return manifestView{
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
	}
}

func manifestViews(ms []uploader.Manifest) []manifestView {
	out := make([]manifestView, 0, len(ms))
	for _, m := range ms {
		out = append(out, viewOf(m))
	}
	return out
}

// verifyView is one line of verify's JSON output.
type verifyView struct {
	manifestView
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
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

// shortHex shortens a hex group id for tables.
func shortHex(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

func printManifests(w io.Writer, where string, ms []uploader.Manifest) {
	if len(ms) == 0 {
		fmt.Fprintf(w, "no snapshots in %s\n", where)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tEPOCH\tCREATED (UTC)\tSIZE\tENCRYPTED\tAGENT")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\n", shortHex(m.GroupHex()), m.Epoch,
			m.Created.UTC().Format("2006-01-02 15:04:05"), m.PlaintextSize, m.CiphertextSize, m.AgentID)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d snapshots in %s\n", len(ms), where)
}

func printVerify(w io.Writer, v verifyView) {
	if v.OK {
		fmt.Fprintf(w, "ok    group %s epoch %d (%s)\n", shortHex(v.GroupID), v.Epoch, v.ID)
		return
	}
	fmt.Fprintf(w, "FAIL  group %s epoch %d (%s): %s\n", shortHex(v.GroupID), v.Epoch, v.ID, v.Error)
}

func printPrune(w io.Writer, r uploader.PruneReport) {
	verb := "deleted"
	if r.DryRun {
		verb = "would delete"
	}
	for _, d := range r.Deleted {
		fmt.Fprintf(w, "%s group %s epoch %d (%s)\n", verb, shortHex(d.GroupHex()), d.Epoch, d.ID)
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

// refuseExisting fails if path exists: fetch never replaces a file.
func refuseExisting(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("fetch: %s: %w (refusing to overwrite; choose another --out)", path, fs.ErrExist)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("fetch: %w", err)
	}
}
