package migrate

import (
	"fmt"
	"io"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// Progress receives one call per snapshot handled: verb says what
// happened ("copied", "present", "rekeyed", "retired", "skipped", ...),
// done of total counts the snapshots of that phase, ref names the
// snapshot. A terminal progress bar or plain lines may implement it.
type Progress interface {
	Step(verb string, done, total int, ref uploader.Ref)
}

// Lines is a [Progress] that writes one plain line per step to W, e.g.
// "copied 12/40 group 0a1b… epoch 7 (…)".
type Lines struct{ W io.Writer }

// Step implements [Progress].
func (l Lines) Step(verb string, done, total int, ref uploader.Ref) {
	fmt.Fprintf(l.W, "%s %d/%d %s\n", verb, done, total, ref)
}

type noProgress struct{}

func (noProgress) Step(string, int, int, uploader.Ref) {}

func progressOr(p Progress) Progress {
	if p == nil {
		return noProgress{}
	}
	return p
}
