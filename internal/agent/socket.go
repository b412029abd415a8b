package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// listenUnix listens on the agent's socket, mode 0600 from the instant it
// appears at its path (see listenPrivate). This process holds the data
// directory's lock, so a socket file left there is stale (its agent died)
// and is removed — unless an agent answers on it, which happens only when
// agent.socket points outside the data directory. A directory that every
// user may write to is refused unless it has the sticky bit (as /tmp
// has): in it another user could replace the socket with their own.
func (a *Agent) listenUnix() (net.Listener, error) {
	path := a.socket
	if err := checkSocketDir(path); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("agent socket %s exists and is not a socket; remove it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			_ = c.Close()
			return nil, fmt.Errorf("agent socket %s is in use by another agent", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale agent socket: %w", err)
		}
		a.log.Info("removed a stale agent socket", "socket", path)
	}
	return listenPrivate(path)
}

// checkSocketDir checks that the directory of the socket path exists and
// that no other user can replace the socket in it.
func checkSocketDir(path string) error {
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("agent socket directory: %w", err)
	}
	if !di.IsDir() {
		return fmt.Errorf("agent socket %s: %s is not a directory", path, dir)
	}
	if di.Mode().Perm()&0o002 != 0 && di.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("agent socket %s: its directory %s is writable by every user and has no sticky bit, so another user could replace the socket; choose a directory only the agent's user can write", path, dir)
	}
	return nil
}

// listenPrivate creates a listening unix socket at path that no other user
// can ever connect to, whatever the umask: it binds the socket in a new
// directory of mode 0700 beside path, sets the socket's mode to 0600 there
// and only then links it to path (which fails if path exists), and
// removes the directory. The umask is process-wide and other goroutines
// create files, so it is left alone. Closing the listener removes path.
func listenPrivate(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	var priv string
	for try := 0; ; try++ {
		// As short as "agent.sock" with "/s", so that a path that fits
		// the limit of unix socket paths (about 108 bytes) fits here too.
		priv = filepath.Join(dir, "."+randomName(7))
		err := os.Mkdir(priv, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try == 10 {
			return nil, fmt.Errorf("listen on agent socket %s: private directory: %w", path, err)
		}
	}
	defer os.RemoveAll(priv)
	// Mkdir's mode was reduced by the umask; 0700 is needed to bind in it.
	if err := os.Chmod(priv, 0o700); err != nil {
		return nil, fmt.Errorf("listen on agent socket %s: private directory: %w", path, err)
	}
	tmp := filepath.Join(priv, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on agent socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("chmod agent socket: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		_ = ln.Close()
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("agent socket %s was created by another process while this agent started", path)
		}
		return nil, fmt.Errorf("listen on agent socket %s: %w", path, err)
	}
	return &socketListener{UnixListener: ln, path: path}, nil
}

// socketListener removes its socket file when closed.
type socketListener struct {
	*net.UnixListener
	path string
	once sync.Once
}

// Close stops listening and removes the socket file.
func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("remove agent socket: %w", rerr)
		}
	})
	return err
}

// randomName returns n random lower-case letters and digits (not secret:
// it only has to avoid names that exist).
func randomName(n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return string(b)
}
