package keyschedule

import (
	"errors"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// ErrFormat means a serialized [Epoch] is malformed.
var ErrFormat = errors.New("keyschedule: malformed epoch encoding")

// epochVersion is the first byte of [Epoch.MarshalBinary] output.
const epochVersion = 1

// persisted lists the fields [Epoch.MarshalBinary] writes, in order.
func (e *Epoch) persisted() []*[]byte {
	return []*[]byte{
		&e.SenderDataSecret,
		&e.ExporterSecret,
		&e.ExternalSecret,
		&e.ConfirmationKey,
		&e.MembershipKey,
		&e.ResumptionPSK,
		&e.EpochAuthenticator,
		&e.InitSecret,
	}
}

// MarshalBinary encodes the secrets a member keeps for the whole epoch:
// a version byte (1) followed by sender_data_secret, exporter_secret,
// external_secret, confirmation_key, membership_key, resumption_psk,
// epoch_authenticator and init_secret, each as opaque<V>. JoinerSecret,
// WelcomeSecret and EncryptionSecret are not encoded (RFC 9420 §9.2).
func (e *Epoch) MarshalBinary() ([]byte, error) {
	w := codec.NewWriter(make([]byte, 0, 1+8*65))
	w.Uint8(epochVersion)
	for _, f := range e.persisted() {
		w.Opaque(*f)
	}
	return w.Bytes(), nil
}

// UnmarshalBinary decodes the output of [Epoch.MarshalBinary]. All eight
// secrets must have the same length, one of the suites' Nh (32, 48 or 64).
// The transient secrets are left nil.
func (e *Epoch) UnmarshalBinary(data []byte) error {
	r := codec.NewReader(data)
	if v := r.Uint8(); r.Err() == nil && v != epochVersion {
		return fmt.Errorf("version %d: %w", v, ErrFormat)
	}
	var out Epoch
	n := -1
	for _, f := range out.persisted() {
		b := r.Opaque()
		if r.Err() != nil {
			break
		}
		if n < 0 {
			n = len(b)
		}
		if len(b) != n || (n != 32 && n != 48 && n != 64) {
			return fmt.Errorf("secret of %d bytes: %w", len(b), ErrFormat)
		}
		*f = append([]byte(nil), b...)
	}
	if err := r.Finish(); err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	*e = out
	return nil
}
