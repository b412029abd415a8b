//go:build !linux

package fsx

import "errors"

var errNoMount = errors.New("mounting is not supported here")

func mountTmpfs(dir string, size int64) error { return errNoMount }

func unmountTmpfs(dir string) error { return nil }
