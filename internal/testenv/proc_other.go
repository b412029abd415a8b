//go:build unix && !linux

package testenv

import "syscall"

// sysProcAttr puts the server in its own process group, so that it and
// any children are killed together.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
