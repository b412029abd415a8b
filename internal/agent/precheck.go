package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// CheckLocal checks, without the network, what the agent and restore need
// of this machine besides a valid configuration: recipients present and
// parseable, the identity and token files readable and well-formed, the
// MLS credential's certificate chain and key and the x509 roots readable
// and matching, the data directory usable, and the socket's directory one
// no other user can write to. Each error names the configuration field. `mlsbackup config
// check` runs it; the destination itself is checked by `mlsbackup check`.
func CheckLocal(cfg *config.Config) []error {
	var errs []error
	if _, err := Recipients(cfg); err != nil {
		errs = append(errs, err)
	}
	if f := cfg.Encryption.IdentityFile; f != "" {
		if _, err := uploader.ReadIdentitiesFile(f); err != nil {
			errs = append(errs, fmt.Errorf("encryption.identity_file: %w", err))
		}
	}
	if cfg.Agent.TCPListen != "" {
		if _, err := readToken(cfg.Agent.TokenFile); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := authentication(cfg, engine.Options{}); err != nil {
		errs = append(errs, err)
	}
	if cfg.MLS.Credential.Type == config.CredentialX509 {
		if _, err := x509Credential(cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if err := usableDir(cfg.DataDir); err != nil {
		errs = append(errs, fmt.Errorf("data_dir: %w", err))
	}
	sock := cfg.SocketPath()
	if filepath.Dir(sock) != filepath.Clean(cfg.DataDir) {
		if err := checkSocketDir(sock); err != nil {
			errs = append(errs, fmt.Errorf("agent.socket: %w", err))
		}
	}
	return errs
}

// usableDir checks that dir is a directory this process can write, or that
// it does not exist yet and its nearest existing parent is one (the agent
// creates it).
func usableDir(dir string) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if errors.Is(err, fs.ErrNotExist) && filepath.Dir(d) != d {
			continue
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", d)
		}
		const wOK, xOK = 0o2, 0o1 // access(2)
		if err := syscall.Access(d, wOK|xOK); err != nil {
			return fmt.Errorf("%s is not writable by this user: %w", d, err)
		}
		return nil
	}
}
