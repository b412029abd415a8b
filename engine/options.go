package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// Defaults of [Options].
const (
	DefaultRetainEpochs   = 10
	DefaultMaxMessageSize = 1 << 20
	DefaultPaddingBlock   = 32
	DefaultLeaseBlock     = 32
)

// PSKStore supplies external pre-shared keys (RFC 9420 §8.4) by id.
type PSKStore interface {
	// ExternalPSK returns the secret of the external PSK named id, or an
	// error wrapping [ErrUnknownPSK].
	ExternalPSK(ctx context.Context, id []byte) ([]byte, error)
}

// MapPSKStore is a [PSKStore] backed by a map from PSK id (as a string) to
// secret.
type MapPSKStore map[string][]byte

var _ PSKStore = MapPSKStore(nil)

// ExternalPSK implements [PSKStore].
func (m MapPSKStore) ExternalPSK(_ context.Context, id []byte) ([]byte, error) {
	v, ok := m[string(id)]
	if !ok {
		return nil, fmt.Errorf("external psk %x: %w", id, ErrUnknownPSK)
	}
	return v, nil
}

// Options tune a [Group]. The zero value is usable: every zero field takes
// its default.
type Options struct {
	// RetainEpochs is how many epochs (the current one included) keep their
	// secrets for late application messages and resumption PSKs.
	// Default [DefaultRetainEpochs].
	RetainEpochs int
	// SecretTree bounds out-of-order tolerance of the secret tree.
	// Default secrettree.DefaultConfig().
	SecretTree secrettree.Config
	// MaxMessageSize is the largest accepted incoming message in bytes.
	// Default [DefaultMaxMessageSize].
	MaxMessageSize int
	// PaddingBlock pads PrivateMessage plaintexts to a multiple of this many
	// bytes. Default [DefaultPaddingBlock].
	PaddingBlock int
	// LeaseBlock is how many ratchet generations a sender reserves with one
	// durable write, so most messages need no write. Default
	// [DefaultLeaseBlock].
	LeaseBlock uint32
	// PSKs supplies external PSKs; nil means none are known.
	PSKs PSKStore
	// Rand is the randomness source; nil means crypto/rand.
	Rand io.Reader
	// Now, if set, is used to check KeyPackage lifetimes.
	Now func() time.Time
	// PrivateHandshake sends proposals and commits as PrivateMessages
	// instead of PublicMessages. A member cannot decrypt its own
	// PrivateMessages, so it must merge its commits with
	// [Group.MergePendingCommit].
	PrivateHandshake bool
	// OmitRatchetTree leaves the ratchet_tree extension out of the GroupInfo
	// of Welcome messages (joiners then need the tree out of band).
	OmitRatchetTree bool
	// Capabilities is what new leaves advertise; the zero value
	// advertises everything the engine implements.
	Capabilities Capabilities
	// Authentication is the credential policy (RFC 9420 §5.3.1), called
	// for every credential that enters a group. Nil means a
	// [DefaultAuthenticationService] without roots, with Now.
	Authentication AuthenticationService
	// Suites supplies the cipher-suite implementations. Groups opened with
	// the same registry share each suite's bounded caches (the last 4096
	// successful signature verifications, the parsed signature key), so a
	// process that keeps many groups loaded should set one registry for
	// all of them. Nil: NewClient makes one for its groups; LoadGroup
	// without a registry gives the group a Suite of its own.
	Suites *suite.Registry
}

func (o Options) withDefaults() Options {
	if o.RetainEpochs <= 0 {
		o.RetainEpochs = DefaultRetainEpochs
	}
	if o.SecretTree.MaxForward == 0 && o.SecretTree.MaxRetained == 0 {
		o.SecretTree = secrettree.DefaultConfig()
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.PaddingBlock <= 0 {
		o.PaddingBlock = DefaultPaddingBlock
	}
	if o.LeaseBlock == 0 {
		o.LeaseBlock = DefaultLeaseBlock
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

// authentication returns the credential policy in effect.
func (o Options) authentication() AuthenticationService {
	if o.Authentication != nil {
		return o.Authentication
	}
	return DefaultAuthenticationService{Now: o.Now}
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Time{}
	}
	return o.Now()
}
