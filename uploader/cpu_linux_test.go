//go:build linux

package uploader_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMeter measures the CPU time of this process and of the S3 server
// process listening at an endpoint, so that benchmarks can report CPU
// seconds, which a loaded machine does not inflate the way it does wall
// time.
type cpuMeter struct {
	serverPID int
}

// newCPUMeter finds the server process whose command line names the
// endpoint's address; serverPID is 0 if none is found.
func newCPUMeter(endpoint string) cpuMeter {
	addr := strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte(addr)) || bytes.Contains(cmd, []byte(".test")) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
			return cpuMeter{serverPID: pid}
		}
	}
	return cpuMeter{}
}

// read returns the CPU time used so far by this process and by the server.
func (c cpuMeter) read() (client, server time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if c.serverPID == 0 {
		return client, 0
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(c.serverPID) + "/stat")
	if err != nil {
		return client, 0
	}
	// Fields after the parenthesised command: state is field 3, utime
	// and stime are fields 14 and 15, in clock ticks of 1/100 s.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return client, 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return client, time.Duration(ut+st) * 10 * time.Millisecond
}
