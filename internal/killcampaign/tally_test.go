package killcampaign

import (
	"fmt"
	"sort"
	"strings"
)

// tally counts what the campaign did for one kind of call.
type tally struct {
	kills       int            // killpoint kills, each aimed at one step
	unanswered  int            // of those, kills before the answer arrived
	chains      int            // recovery: chains of kills that ended in a recovery
	afterAnswer int            // kill -9 by the harness just after the answer
	survived    int            // rounds whose aim lay past the call's last step
	steps       map[string]int // killpoint kills by operation
	acked       int            // answers received before the kill
	inOutbox    int            // of those, found in the outbox after the restart
	stored      int            // retries answered with the stored answer
	fresh       int            // retries that made the call anew (it had not happened)
}

// kill counts a killpoint kill at step ("N op path"), which must be the
// aim-th step.
func (t *tally) kill(step string, aim int64) error {
	if t.steps == nil {
		t.steps = map[string]int{}
	}
	t.kills++
	f := strings.Fields(step)
	if len(f) < 2 || f[0] != fmt.Sprint(aim) {
		return fmt.Errorf("killed at step %q, aimed at step %d", step, aim)
	}
	t.steps[f[1]]++
	return nil
}

// stepList formats the kills by operation, in a stable order.
func (t *tally) stepList() string {
	ops := make([]string, 0, len(t.steps))
	for op := range t.steps {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %d", op, t.steps[op]))
	}
	return strings.Join(parts, ", ")
}

// line is one kind's report line.
func (t *tally) line(kind string) string {
	switch kind {
	case kindRestore:
		return fmt.Sprintf("kill campaign %s: kills %d (%s), reported restored before the kill %d all up to date on the next restore, next restore up to date %d restored anew %d, completed %d",
			kind, t.kills, t.stepList(), t.acked, t.stored, t.fresh, t.survived)
	case kindRecovery:
		return fmt.Sprintf("kill campaign %s: kills %d (%s) in %d chains (each recovery killed at the next step of what the previous left, until one completed)",
			kind, t.kills, t.stepList(), t.chains)
	}
	return fmt.Sprintf("kill campaign %s: kills %d (%s) of which before the answer %d, kill -9 after the answer %d, answers acknowledged %d found in the outbox %d, retries answered stored %d fresh %d, aims past the last step %d",
		kind, t.kills, t.stepList(), t.unanswered, t.afterAnswer, t.acked, t.inOutbox, t.stored, t.fresh, t.survived)
}
