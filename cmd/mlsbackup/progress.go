package main

import (
	"context"
	"os"

	"github.com/mlsbackup/mlsbackup/internal/migrate"
	"github.com/mlsbackup/mlsbackup/internal/progress"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// newProgress starts the progress report of a command that works through
// many items, on stderr (stdout carries the results): a bar redrawn in
// place on a terminal, plain lines otherwise and on TERM=dumb. When on is
// false it returns nil, which reports nothing. Such a command opens its
// backup with backupNeeds.ownProgress, so that no transfer draws its own
// line under the bar; it calls Done before it prints its results.
func (a *app) newProgress(ctx context.Context, on bool, label, unit string) *progress.Reporter {
	if !on {
		return nil
	}
	return progress.Start(ctx, a.st.err, progress.Options{Label: label, Unit: unit, Terminal: a.barOnStderr()})
}

// migrateProgress is the progress report of copy and rekey: on a terminal
// the bar of [app.newProgress] with the step as its item; otherwise one
// plain line per snapshot on stderr (an audit trail of what moved). Call
// the returned func before printing the results.
func (a *app) migrateProgress(ctx context.Context, label string) (migrate.Progress, func()) {
	if !a.barOnStderr() {
		return migrate.Lines{W: a.st.err}, func() {}
	}
	r := a.newProgress(ctx, true, label, "snapshots")
	return barSteps{r}, r.Done
}

// barSteps is a [migrate.Progress] drawn by a [progress.Reporter].
type barSteps struct{ r *progress.Reporter }

// Step implements [migrate.Progress].
func (b barSteps) Step(verb string, done, total int, ref uploader.Ref) {
	b.r.Update(done, total, verb+" "+ref.String())
}

// barOnStderr reports whether progress may be drawn as a bar: stderr is
// a terminal that is not TERM=dumb.
func (a *app) barOnStderr() bool {
	return uploader.IsTerminal(a.st.err) && os.Getenv("TERM") != "dumb"
}
