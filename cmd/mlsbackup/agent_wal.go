package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/wal"
)

func (a *app) walCommand() *cli.Command {
	return &cli.Command{
		Name:  "wal",
		Usage: "inspect and check the local write-ahead log",
		Description: "Reads the write-ahead log under <data_dir>/wal without changing it: it copies\n" +
			"the segments to a temporary directory and recovers the copy. It lists the\n" +
			"segments, the committed operations recovery would replay (not yet applied to the\n" +
			"state files), the operations begun but never committed, and a torn tail (an\n" +
			"interrupted write, which the agent truncates on start). Corruption anywhere else\n" +
			"is an error naming the segment and offset (exit 1); the agent refuses to start\n" +
			"on such a log. Payloads and inputs are never printed: they hold secrets.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: a.runWAL,
	}
}

// walView is the wal command's report.
type walView struct {
	Dir        string       `json:"dir"`
	Segments   []walSegment `json:"segments"`
	Replay     []walOp      `json:"replay"`
	Incomplete []walOp      `json:"incomplete"`
	TornTail   *walTail     `json:"torn_tail,omitempty"`
}

type walSegment struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

type walOp struct {
	ID         uint64 `json:"id"`
	Kind       string `json:"kind"`
	InputLen   int    `json:"input_bytes"`
	PayloadLen int    `json:"payload_bytes"`
}

type walTail struct {
	File    string `json:"file"`
	Offset  int64  `json:"offset"`
	Dropped int64  `json:"dropped_bytes"`
	Reason  string `json:"reason"`
}

func (a *app) runWAL(c *cli.Context) error {
	if err := positional(c, 0, 0, "[--json]"); err != nil {
		return err
	}
	e, err := a.loadEnv(c)
	if err != nil {
		return err
	}
	dir := filepath.Join(e.cfg.DataDir, "wal")
	v, err := inspectWAL(c, dir)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(a.st.out, v)
	}
	w := a.st.out
	var total int64
	for _, s := range v.Segments {
		total += s.Size
	}
	fmt.Fprintf(w, "%s: %d segments, %d bytes\n", v.Dir, len(v.Segments), total)
	for _, s := range v.Segments {
		fmt.Fprintf(w, "  %s  %d bytes\n", s.Name, s.Size)
	}
	fmt.Fprintf(w, "committed, not yet applied (replayed on start): %d\n", len(v.Replay))
	for _, op := range v.Replay {
		fmt.Fprintf(w, "  #%d %s (%d bytes)\n", op.ID, op.Kind, op.PayloadLen)
	}
	fmt.Fprintf(w, "begun, never committed: %d\n", len(v.Incomplete))
	for _, op := range v.Incomplete {
		fmt.Fprintf(w, "  #%d %s (input %d bytes)\n", op.ID, op.Kind, op.InputLen)
	}
	if t := v.TornTail; t != nil {
		fmt.Fprintf(w, "torn tail: %s at offset %d, %d bytes (%s); the agent truncates it on start\n", t.File, t.Offset, t.Dropped, t.Reason)
	} else {
		fmt.Fprintln(w, "no torn tail; the log is consistent")
	}
	return nil
}

// inspectWAL recovers a copy of the log in dir and reports what it found.
func inspectWAL(c *cli.Context, dir string) (walView, error) {
	v := walView{Dir: dir, Segments: []walSegment{}, Replay: []walOp{}, Incomplete: []walOp{}}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return v, fmt.Errorf("no write-ahead log at %s (no agent has used this data directory yet?)", dir)
	}
	if err != nil {
		return v, fmt.Errorf("read log directory: %w", err)
	}
	tmp, err := os.MkdirTemp("", "mlsbackup-wal-")
	if err != nil {
		return v, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, ent := range ents {
		if !ent.Type().IsRegular() || !strings.HasSuffix(ent.Name(), ".wal") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, ent.Name()))
		if err != nil {
			return v, fmt.Errorf("read segment: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, ent.Name()), data, 0o600); err != nil {
			return v, fmt.Errorf("copy segment: %w", err)
		}
		v.Segments = append(v.Segments, walSegment{Name: ent.Name(), Size: int64(len(data))})
	}
	sort.Slice(v.Segments, func(i, j int) bool { return v.Segments[i].Name < v.Segments[j].Name })
	log, rec, err := wal.Open(c.Context, fsx.OS{}, tmp, wal.Options{})
	if err != nil {
		var ce *wal.CorruptError
		if errors.As(err, &ce) {
			return v, fmt.Errorf("corrupt log: segment %s at offset %d: %s; the agent will refuse to start (restore the data directory from a backup)",
				filepath.Join(dir, filepath.Base(ce.File)), ce.Offset, ce.Reason)
		}
		return v, fmt.Errorf("read log: %w", err)
	}
	defer log.Close()
	for _, en := range rec.Replay {
		v.Replay = append(v.Replay, walOp{ID: en.ID, Kind: en.Kind, InputLen: len(en.Input), PayloadLen: len(en.Payload)})
	}
	for _, en := range rec.Incomplete {
		v.Incomplete = append(v.Incomplete, walOp{ID: en.ID, Kind: en.Kind, InputLen: len(en.Input)})
	}
	if r := rec.Repaired; r != nil {
		v.TornTail = &walTail{File: filepath.Join(dir, filepath.Base(r.File)), Offset: r.Offset, Dropped: r.Dropped, Reason: r.Reason}
	}
	return v, nil
}
