// Package keyschedule implements the MLS epoch key schedule of RFC 9420 §8:
// from the previous epoch's init_secret, the commit_secret, the psk_secret
// and the serialized GroupContext it derives the joiner, welcome and epoch
// secrets and every secret derived from the epoch secret (§8, table
// "Epoch-Derived Secrets"), the external key pair (§8 external_secret), the
// MLS exporter (§8.5), external initialization (§8.3) and the psk_secret
// chaining of §8.4.
//
// The package works on bytes: the GroupContext and every PreSharedKeyID are
// passed already serialized, so it depends only on [suite] and the codec.
package keyschedule

import (
	"errors"
	"fmt"
	"io"

	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// Sentinel errors of the package.
var (
	// ErrLength means a requested output length is out of range.
	ErrLength = errors.New("keyschedule: invalid length")
	// ErrInput means an input secret has the wrong size for the suite.
	ErrInput = errors.New("keyschedule: invalid input")
)

// Labels of the secrets derived from the epoch secret (RFC 9420 §8).
const (
	labelSenderData     = "sender data"
	labelEncryption     = "encryption"
	labelExporter       = "exporter"
	labelExternal       = "external"
	labelConfirm        = "confirm"
	labelMembership     = "membership"
	labelResumption     = "resumption"
	labelAuthentication = "authentication"
	labelInit           = "init"
	labelJoiner         = "joiner"
	labelWelcome        = "welcome"
	labelEpoch          = "epoch"
)

// ExternalInitLabel is the HPKE exporter context of external init (§8.3).
const ExternalInitLabel = "MLS 1.0 external init secret"

// Epoch holds the secrets of one epoch (RFC 9420 §8). Each field is Nh
// bytes.
//
// JoinerSecret, WelcomeSecret and EncryptionSecret are needed only while the
// epoch is being entered (to build Welcome messages and the secret tree);
// RFC 9420 §9.2 requires deleting them afterwards, so [Epoch.MarshalBinary]
// leaves them out and [Epoch.Forget] wipes them.
type Epoch struct {
	JoinerSecret       []byte
	WelcomeSecret      []byte
	SenderDataSecret   []byte
	EncryptionSecret   []byte
	ExporterSecret     []byte
	ExternalSecret     []byte
	ConfirmationKey    []byte
	MembershipKey      []byte
	ResumptionPSK      []byte
	EpochAuthenticator []byte
	// InitSecret is init_secret_[n], the input to the next epoch.
	InitSecret []byte
}

// zero returns the all-zero string of length Nh ("0" in RFC 9420 §8).
func zero(s *suite.Suite) []byte { return make([]byte, s.Nh()) }

// orZero returns b, or the all-zero string of length Nh when b is empty.
func orZero(s *suite.Suite, b []byte) []byte {
	if len(b) == 0 {
		return zero(s)
	}
	return b
}

// JoinerSecret computes joiner_secret = ExpandWithLabel(Extract(init_secret,
// commit_secret), "joiner", GroupContext_[n], Nh). An empty commitSecret
// stands for the all-zero commit secret of a commit without path.
func JoinerSecret(s *suite.Suite, initSecret, commitSecret, groupContext []byte) []byte {
	prk := s.Extract(initSecret, orZero(s, commitSecret))
	return s.ExpandWithLabel(prk, labelJoiner, groupContext, s.Nh())
}

// memberSecret is Extract(joiner_secret, psk_secret), the intermediate value
// from which the welcome and epoch secrets are derived.
func memberSecret(s *suite.Suite, joinerSecret, pskSecret []byte) []byte {
	return s.Extract(joinerSecret, orZero(s, pskSecret))
}

// WelcomeSecret computes welcome_secret = DeriveSecret(Extract(joiner_secret,
// psk_secret), "welcome"). An empty pskSecret stands for the all-zero one.
func WelcomeSecret(s *suite.Suite, joinerSecret, pskSecret []byte) []byte {
	return s.DeriveSecret(memberSecret(s, joinerSecret, pskSecret), labelWelcome)
}

// WelcomeKeyNonce derives the key and nonce that protect the GroupInfo of a
// Welcome message (RFC 9420 §12.4.3.1).
func WelcomeKeyNonce(s *suite.Suite, welcomeSecret []byte) (key, nonce []byte) {
	key = s.ExpandWithLabel(welcomeSecret, "key", nil, s.KeySize())
	nonce = s.ExpandWithLabel(welcomeSecret, "nonce", nil, s.NonceSize())
	return key, nonce
}

// Next derives the epoch entered by a commit: from the previous epoch's
// init secret, the commit secret, the psk secret (empty for none) and the
// new epoch's serialized GroupContext.
func Next(s *suite.Suite, initSecret, commitSecret, pskSecret, groupContext []byte) (*Epoch, error) {
	if len(initSecret) != s.Nh() {
		return nil, fmt.Errorf("init secret of %d bytes: %w", len(initSecret), ErrInput)
	}
	return FromJoiner(s, JoinerSecret(s, initSecret, commitSecret, groupContext), pskSecret, groupContext)
}

// FromJoiner derives an epoch from its joiner secret, as a new member does
// after decrypting the GroupSecrets of a Welcome.
func FromJoiner(s *suite.Suite, joinerSecret, pskSecret, groupContext []byte) (*Epoch, error) {
	if len(joinerSecret) != s.Nh() {
		return nil, fmt.Errorf("joiner secret of %d bytes: %w", len(joinerSecret), ErrInput)
	}
	if len(pskSecret) != 0 && len(pskSecret) != s.Nh() {
		return nil, fmt.Errorf("psk secret of %d bytes: %w", len(pskSecret), ErrInput)
	}
	member := memberSecret(s, joinerSecret, pskSecret)
	epochSecret := s.ExpandWithLabel(member, labelEpoch, groupContext, s.Nh())
	e := deriveFromEpochSecret(s, epochSecret)
	e.JoinerSecret = joinerSecret
	e.WelcomeSecret = s.DeriveSecret(member, labelWelcome)
	clear(member)
	clear(epochSecret)
	return e, nil
}

// FromEpochSecret derives the secrets of an epoch directly from its
// epoch_secret, as the creator of a group does for epoch 0 (RFC 9420 §11:
// the initial epoch secret is a fresh random value). JoinerSecret and
// WelcomeSecret stay nil.
func FromEpochSecret(s *suite.Suite, epochSecret []byte) (*Epoch, error) {
	if len(epochSecret) != s.Nh() {
		return nil, fmt.Errorf("epoch secret of %d bytes: %w", len(epochSecret), ErrInput)
	}
	return deriveFromEpochSecret(s, epochSecret), nil
}

// NewGroupEpoch returns epoch 0 of a new group: the secrets derived from a
// fresh epoch secret of Nh bytes read from random.
func NewGroupEpoch(s *suite.Suite, random io.Reader) (*Epoch, error) {
	secret := make([]byte, s.Nh())
	defer clear(secret)
	if _, err := io.ReadFull(random, secret); err != nil {
		return nil, fmt.Errorf("new group epoch secret: %w", err)
	}
	return deriveFromEpochSecret(s, secret), nil
}

func deriveFromEpochSecret(s *suite.Suite, epochSecret []byte) *Epoch {
	return &Epoch{
		SenderDataSecret:   s.DeriveSecret(epochSecret, labelSenderData),
		EncryptionSecret:   s.DeriveSecret(epochSecret, labelEncryption),
		ExporterSecret:     s.DeriveSecret(epochSecret, labelExporter),
		ExternalSecret:     s.DeriveSecret(epochSecret, labelExternal),
		ConfirmationKey:    s.DeriveSecret(epochSecret, labelConfirm),
		MembershipKey:      s.DeriveSecret(epochSecret, labelMembership),
		ResumptionPSK:      s.DeriveSecret(epochSecret, labelResumption),
		EpochAuthenticator: s.DeriveSecret(epochSecret, labelAuthentication),
		InitSecret:         s.DeriveSecret(epochSecret, labelInit),
	}
}

// Forget wipes and drops the secrets that are only needed while entering
// the epoch: JoinerSecret, WelcomeSecret and EncryptionSecret.
func (e *Epoch) Forget() {
	clear(e.JoinerSecret)
	clear(e.WelcomeSecret)
	clear(e.EncryptionSecret)
	e.JoinerSecret, e.WelcomeSecret, e.EncryptionSecret = nil, nil, nil
}

// MaxExportLength returns the largest length [Epoch.Export] accepts for s.
func MaxExportLength(s *suite.Suite) int { return min(s.MaxExpand(), 0xffff) }

// Export is MLS-Exporter(label, context, length) = ExpandWithLabel(
// DeriveSecret(exporter_secret, label), "exported", Hash(context), length)
// (RFC 9420 §8.5). length must be at most [MaxExportLength].
func (e *Epoch) Export(s *suite.Suite, label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > MaxExportLength(s) {
		return nil, fmt.Errorf("export of %d bytes: %w", length, ErrLength)
	}
	if len(e.ExporterSecret) != s.Nh() {
		return nil, fmt.Errorf("exporter secret of %d bytes: %w", len(e.ExporterSecret), ErrInput)
	}
	secret := s.DeriveSecret(e.ExporterSecret, label)
	defer clear(secret)
	return s.ExpandWithLabel(secret, "exported", s.Hash(context), length), nil
}

// ExternalKeyPair returns KEM.DeriveKeyPair(external_secret), the key pair
// whose public half is published in GroupInfo for external commits.
func (e *Epoch) ExternalKeyPair(s *suite.Suite) (priv, pub []byte, err error) {
	if len(e.ExternalSecret) != s.Nh() {
		return nil, nil, fmt.Errorf("external secret of %d bytes: %w", len(e.ExternalSecret), ErrInput)
	}
	priv, pub, err = s.DeriveKeyPair(e.ExternalSecret)
	if err != nil {
		return nil, nil, fmt.Errorf("external key pair: %w", err)
	}
	return priv, pub, nil
}

// ExternalInit is the joiner's half of external initialization (§8.3): it
// encapsulates to the group's external public key and returns the
// kem_output for the ExternalInit proposal and the init secret to use in
// place of the previous epoch's.
func ExternalInit(s *suite.Suite, externalPub []byte) (kemOutput, initSecret []byte, err error) {
	kemOutput, initSecret, err = s.ExportSender(externalPub, nil, []byte(ExternalInitLabel), s.Nh())
	if err != nil {
		return nil, nil, fmt.Errorf("external init: %w", err)
	}
	return kemOutput, initSecret, nil
}

// ExternalInitSecret is the members' half of external initialization: it
// recovers the init secret from the ExternalInit proposal's kem_output with
// the external private key of the previous epoch.
func ExternalInitSecret(s *suite.Suite, externalPriv, kemOutput []byte) ([]byte, error) {
	secret, err := s.ExportReceiver(externalPriv, kemOutput, nil, []byte(ExternalInitLabel), s.Nh())
	if err != nil {
		return nil, fmt.Errorf("external init: %w", err)
	}
	return secret, nil
}
