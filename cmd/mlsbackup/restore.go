package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/restore"
)

func (a *app) restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "bring groups back from the backups after a lost disk or corrupted state",
		ArgsUsage: "--group ID [--latest | --epoch N | --before TIME] | --all",
		Description: "Lists the remote snapshots, downloads one, decrypts it with the age identity,\n" +
			"verifies its signature, checksums, group id, epoch and epoch authenticator, the\n" +
			"group's chain and what the newest head says (a snapshot or head deleted: refused\n" +
			"without --force; the head's age is reported), and imports it\n" +
			"into the data directory as one atomic step — directly, or through the running agent\n" +
			"when one holds the data directory. It refuses to roll a group back to an older\n" +
			"epoch unless --force. A restored member does not encrypt until it has merged a\n" +
			"commit of its own: catch up on missed commits (group receive), then commit a\n" +
			"self-update (group update), or re-join by external commit (see the runbook,\n" +
			"docs/runbook.md). --all restores the newest snapshot of every group, in parallel.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "restore the group with this hex `ID`"},
			&cli.BoolFlag{Name: "all", Usage: "restore every group that has a snapshot (lost disk)"},
			&cli.BoolFlag{Name: "latest", Usage: "restore the newest complete snapshot (the default)"},
			&cli.Uint64Flag{Name: "epoch", Usage: "restore the snapshot of epoch `N`"},
			&cli.StringFlag{Name: "before", Usage: "restore the newest snapshot taken at or before `TIME` (RFC 3339)"},
			&cli.StringFlag{Name: "identity", Usage: "age identity `FILE`; overrides encryption.identity_file"},
			allowUnsignedFlag(),
			&cli.BoolFlag{Name: "dry-run", Usage: "download and verify, show what would be restored, change nothing (a read-only data directory will do)"},
			&cli.BoolFlag{Name: "force", Usage: "allow rolling a group back to an older epoch, replacing unreadable local state, or restoring despite a broken chain or head"},
			&cli.IntFlag{Name: "concurrency", Value: restore.DefaultConcurrency, Usage: "restore up to `N` groups at once with --all"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: a.runRestore,
	}
}

// restoreArgs turns the flags into a request, or a usage error.
func restoreArgs(c *cli.Context) (restore.Request, error) {
	var req restore.Request
	if err := positional(c, 0, 0, "--group ID [--latest | --epoch N | --before TIME] | --all"); err != nil {
		return req, err
	}
	id, err := groupFlag(c)
	if err != nil {
		return req, err
	}
	req.Group, req.All = id, c.Bool("all")
	if (id == nil) == !req.All {
		return req, usagef("give --group ID or --all (see 'mlsbackup restore --help')")
	}
	n := 0
	if c.Bool("latest") {
		n++
	}
	if c.IsSet("epoch") {
		n++
		req.Select.Epoch, req.Select.HasEpoch = c.Uint64("epoch"), true
	}
	if s := c.String("before"); s != "" {
		n++
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return req, usagef("--before: %q is not an RFC 3339 time (e.g. 2026-11-25T17:00:00Z)", s)
		}
		req.Select.Before = t
	}
	if n > 1 {
		return req, usagef("--latest, --epoch and --before exclude each other")
	}
	if c.Int("concurrency") < 1 {
		return req, usagef("--concurrency: must be at least 1")
	}
	return req, nil
}

func (a *app) runRestore(c *cli.Context) error {
	req, err := restoreArgs(c)
	if err != nil {
		return err
	}
	e, err := a.loadEnv(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	b, err := a.openBackup(ctx, e, backupNeeds{identities: true, identity: c.String("identity"), allowUnsigned: c.Bool("allow-unsigned"), ownProgress: req.All})
	if err != nil {
		return err
	}
	dryRun, asJSON := c.Bool("dry-run"), c.Bool("json")
	dd, err := openDataDir(ctx, e, dryRun)
	if err != nil {
		return err
	}
	defer dd.close()
	// The header goes out with the first result: a restore that fails
	// before it has one leaves stdout empty (issue 15).
	var header sync.Once
	printHeader := func(w io.Writer) {
		header.Do(func() {
			fmt.Fprintf(w, "restoring %s (%s) from %s into %s %s\n", what(req), req.Select, b, e.cfg.DataDir, dd.via)
		})
	}
	// Every group's outcome is printed (or in the JSON), so the library
	// logs nothing here.
	opts := restore.Options{Force: c.Bool("force"), DryRun: dryRun, Concurrency: c.Int("concurrency")}
	p := a.newProgress(ctx, req.All, "restore", "groups")
	opts.Progress = p.Update
	if !asJSON {
		out := p.Above(a.st.out)
		opts.OnResult = func(r restore.Result) {
			printHeader(out)
			printRestoreResult(out, r)
		}
	}
	results, runErr := restore.Run(ctx, b, dd.target, req, opts)
	p.Done()
	if runErr != nil && len(results) == 0 {
		// Nothing was tried: no summary of zeros (issue 15).
		return fmt.Errorf("restore: %w", runErr)
	}
	if asJSON {
		if err := writeJSON(a.st.out, restoreViews(results)); err != nil {
			return err
		}
	} else {
		printHeader(a.st.out)
		printRestoreSummary(a.st.out, results, dryRun)
	}
	if runErr != nil {
		return fmt.Errorf("restore: %w", runErr)
	}
	return dd.close()
}

func what(req restore.Request) string {
	if req.All {
		return "every group"
	}
	return "group " + hex.EncodeToString(req.Group)
}

// restoreView is one group's result in --json output.
type restoreView struct {
	GroupID              string        `json:"group_id"`
	Status               string        `json:"status"`
	Epoch                uint64        `json:"epoch,omitempty"`
	Snapshot             string        `json:"snapshot,omitempty"`
	LocalEpoch           *uint64       `json:"local_epoch,omitempty"`
	AuthenticatorChecked bool          `json:"epoch_authenticator_checked"`
	Problems             []string      `json:"problems,omitempty"`
	Head                 string        `json:"head,omitempty"`
	HeadWritten          *time.Time    `json:"head_written,omitempty"`
	Error                string        `json:"error,omitempty"`
	Duration             time.Duration `json:"duration_ns"`
}

func restoreViews(rs []restore.Result) []restoreView {
	out := make([]restoreView, 0, len(rs))
	for _, r := range rs {
		v := restoreView{GroupID: hex.EncodeToString(r.Group), Status: string(r.Status), Epoch: r.Snapshot.Epoch,
			Snapshot: r.Snapshot.Key, AuthenticatorChecked: r.AuthenticatorChecked, Duration: r.Duration}
		if r.HadLocal {
			e := r.LocalEpoch
			v.LocalEpoch = &e
		}
		if r.Err != nil {
			v.Error = r.Err.Error()
		}
		for _, p := range r.Problems {
			v.Problems = append(v.Problems, p.Error())
		}
		if r.Head != nil {
			w := r.Head.Written
			v.Head, v.HeadWritten = r.Head.Key, &w
		}
		out = append(out, v)
	}
	return out
}

func printRestoreResult(w io.Writer, r restore.Result) {
	local := "not stored locally"
	if r.HadLocal {
		local = fmt.Sprintf("local epoch %d", r.LocalEpoch)
	}
	if r.Err == nil {
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  WARNING (--force)  group %x: %v\n", r.Group, p)
		}
	}
	switch r.Status {
	case restore.StatusRestored:
		fmt.Fprintf(w, "  restored  group %x at epoch %d (was: %s) from %s\n", r.Group, r.Snapshot.Epoch, local, r.Snapshot.Key)
	case restore.StatusWouldRestore:
		fmt.Fprintf(w, "  would restore  group %x at epoch %d (now: %s) from %s — verified, not imported (dry run)\n", r.Group, r.Snapshot.Epoch, local, r.Snapshot.Key)
	case restore.StatusUpToDate:
		fmt.Fprintf(w, "  up to date  group %x is already at epoch %d locally; nothing changed (--force replaces it)\n", r.Group, r.LocalEpoch)
	default:
		fmt.Fprintf(w, "  FAILED  %v\n", r.Err)
	}
}

func printRestoreSummary(w io.Writer, rs []restore.Result, dryRun bool) {
	counts := map[restore.Status]int{}
	for _, r := range rs {
		counts[r.Status]++
	}
	if len(rs) > 0 {
		printHead(w, rs[0].Head)
	}
	fmt.Fprintf(w, "%d restored, %d would be restored, %d up to date, %d failed\n",
		counts[restore.StatusRestored], counts[restore.StatusWouldRestore], counts[restore.StatusUpToDate], counts[restore.StatusFailed])
	if counts[restore.StatusRestored] > 0 && !dryRun {
		fmt.Fprintln(w, "Next: a restored member cannot send until it commits. 1. Catch up on the commits it missed")
		fmt.Fprintln(w, "(mlsbackup group receive). 2. Commit a self-update (mlsbackup group update ID) and deliver it;")
		fmt.Fprintln(w, "then it can send. If catching up is impossible or fails on its own earlier commit, re-join by")
		fmt.Fprintln(w, "external commit (mlsbackup group join --group-info B64 --resync-leaf N) — see docs/runbook.md.")
	}
}
