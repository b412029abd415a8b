package main

import (
	"errors"
	"fmt"
)

// Exit codes of mlsbackup.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed (or is not available yet)
	exitUsage   = 2 // the command line was wrong
)

// usageError is a mistake on the command line; it exits with [exitUsage].
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// notAvailableError is returned by commands that a later issue fills in.
type notAvailableError struct {
	what  string // what the command will do
	issue string // where it arrives, e.g. "issue 5 (the agent)"
}

func (e *notAvailableError) Error() string {
	return fmt.Sprintf("not available yet: %s arrives with %s", e.what, e.issue)
}

func notAvailable(what, issue string) error {
	return &notAvailableError{what: what, issue: issue}
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
