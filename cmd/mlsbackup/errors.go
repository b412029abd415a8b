package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// Exit codes of mlsbackup.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line was wrong
)

// usageError is a mistake on the command line; it exits with [exitUsage].
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	var u *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u):
		return exitUsage
	default:
		return exitFailure
	}
}

// errorCode classifies a command's error for the JSON error object: the
// agent API's codes where they apply (an answer of the agent keeps its
// code), else "usage", "agent_unreachable", "no_snapshot" or "failed".
func errorCode(err error) string {
	var (
		u  *usageError
		ae *agent.APIError
	)
	switch {
	case errors.As(err, &u):
		return "usage"
	case errors.As(err, &ae):
		return ae.Code
	case errors.Is(err, agent.ErrNoAgent):
		return "agent_unreachable"
	case errors.Is(err, uploader.ErrNoSnapshot):
		return "no_snapshot"
	}
	if code := agent.ErrorCode(err); code != "internal" {
		return code
	}
	return "failed"
}

// jsonErrors makes cmd and its subcommands, where they have a --json flag,
// print a failure as a JSON error object on stdout, in the agent API's
// shape ({"error": message, "code": code}), when --json is given and the
// command printed nothing on stdout: a script reading stdout gets an
// object, never an empty result. The message goes to stderr as always.
func (a *app) jsonErrors(cmd *cli.Command) {
	for _, sub := range cmd.Subcommands {
		a.jsonErrors(sub)
	}
	if cmd.Action == nil || !hasFlag(cmd, "json") {
		return
	}
	action := cmd.Action
	cmd.Action = func(c *cli.Context) error {
		if !c.Bool("json") {
			return action(c)
		}
		out := &countWriter{w: a.st.out}
		a.st.out = out
		err := action(c)
		a.st.out = out.w
		if err != nil && out.n == 0 {
			_ = writeJSON(out.w, agent.ErrorResponse{Error: err.Error(), Code: errorCode(err)})
		}
		return err
	}
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
