package agent

import (
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// ErrNoSigningKey means the configuration names no signing key and does
// not allow unsigned uploads.
var ErrNoSigningKey = errors.New("agent: no signing key: set encryption.signing_key_file or " + config.SigningKeyEnv +
	" (mlsbackup keygen writes one), or, insecurely, encryption.allow_unsigned: true")

// LoadSigningKey loads the agent's signing key: the key line in the
// environment variable [config.SigningKeyEnv] (looked up with lookup) if it
// is set, else the file encryption.signing_key_file. It returns nil and no
// error when neither is set. Errors name the variable or the field and
// never contain key material.
func LoadSigningKey(cfg *config.Config, lookup config.LookupFunc) (*uploader.SigningKey, error) {
	if lookup != nil {
		if v, ok := lookup(config.SigningKeyEnv); ok && v != "" {
			k, err := uploader.ParseSigningKey(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", config.SigningKeyEnv, err)
			}
			return k, nil
		}
	}
	if f := cfg.Encryption.SigningKeyFile; f != "" {
		k, err := uploader.ReadSigningKeyFile(f)
		if err != nil {
			return nil, fmt.Errorf("encryption.signing_key_file: %w", err)
		}
		return k, nil
	}
	return nil, nil
}
