package killcampaign

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one run of the killpoint build of mlsbackup.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	armed  chan int64    // N of each "killpoint: armed N"
	done   chan struct{} // closed once the process is gone and reaped

	mu     sync.Mutex
	lines  []string // stderr, the last maxLines lines
	killAt string   // the "killpoint: kill ..." line, if the killpoint fired
}

// maxLines bounds the stderr lines a proc keeps for failure messages.
const maxLines = 200

// startProc runs binary with args and the extra environment env.
func startProc(env []string, args ...string) (*proc, error) {
	p := &proc{cmd: exec.Command(binary, args...), armed: make(chan int64, 8), done: make(chan struct{})}
	p.cmd.Env = append(append(os.Environ(), "MLSBACKUP_CONFIG="), env...)
	p.cmd.Stdout = &p.stdout
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(args, " "), err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.line(sc.Text())
		}
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// line records one line of stderr.
func (p *proc) line(l string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, l)
	if len(p.lines) > maxLines {
		p.lines = p.lines[len(p.lines)-maxLines:]
	}
	switch {
	case strings.HasPrefix(l, "killpoint: kill "):
		p.killAt = strings.TrimPrefix(l, "killpoint: kill ")
	case strings.HasPrefix(l, "killpoint: armed "):
		if n, err := strconv.ParseInt(strings.TrimPrefix(l, "killpoint: armed "), 10, 64); err == nil {
			select {
			case p.armed <- n:
			default: // nobody waits for it
			}
		}
	}
}

// stderr returns the lines kept, for failure messages.
func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// exited reports whether the process is gone.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits until the process is gone, at most d.
func (p *proc) wait(d time.Duration) error {
	select {
	case <-p.done:
		return nil
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("process did not exit within %v\n%s", d, p.stderr())
	}
}

// signal sends sig (ignored once the process is gone).
func (p *proc) signal(sig os.Signal) { _ = p.cmd.Process.Signal(sig) }

// killpoint returns the step the killpoint killed the process at ("N op
// path"), or "" if it did not fire. Valid once the process is gone.
func (p *proc) killpoint() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killAt
}

// outcome describes how the process ended: killed by the killpoint (at
// the step returned), killed by SIGKILL from elsewhere, or an exit code.
func (p *proc) outcome() (step string, sigkill bool, code int) {
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return p.killpoint(), true, -1
	}
	return "", false, p.cmd.ProcessState.ExitCode()
}

// arm writes n to file and signals SIGUSR1: the process kills itself at
// the nth counted operation from now (0 disarms). It returns false if the
// process died without confirming (an earlier aim fired meanwhile).
func (p *proc) arm(file string, n int64) (bool, error) {
	if err := os.WriteFile(file, []byte(strconv.FormatInt(n, 10)), 0o600); err != nil {
		return false, err
	}
	p.signal(syscall.SIGUSR1)
	for {
		select {
		case got := <-p.armed:
			if got == n {
				return true, nil
			}
		case <-p.done:
			// It may have confirmed and died at once: the confirmation
			// is queued before done is closed.
			for {
				select {
				case got := <-p.armed:
					if got == n {
						return true, nil
					}
				default:
					return false, nil
				}
			}
		case <-time.After(10 * time.Second):
			return false, fmt.Errorf("no \"killpoint: armed %d\" within 10s\n%s", n, p.stderr())
		}
	}
}
