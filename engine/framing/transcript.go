package framing

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// ConfirmedTranscriptHash returns Hash(interimBefore ||
// ConfirmedTranscriptHashInput) for a commit (RFC 9420 §8.2).
func ConfirmedTranscriptHash(s *suite.Suite, interimBefore []byte, ac *wire.AuthenticatedContent) ([]byte, error) {
	if ac.Content.ContentType != wire.ContentTypeCommit {
		return nil, fmt.Errorf("confirmed transcript hash: %w: content type %d is not commit", ErrMalformed, ac.Content.ContentType)
	}
	// ConfirmedTranscriptHashInput is the wire format, the content and the
	// signature, hashed in parts so that the content (ac.RawContent if set)
	// is neither encoded again nor copied.
	wf := [2]byte{byte(ac.WireFormat >> 8), byte(ac.WireFormat)}
	sig := codec.NewWriter(make([]byte, 0, codec.OpaqueLen(ac.Auth.Signature)))
	sig.Opaque(ac.Auth.Signature)
	return s.Hash(interimBefore, wf[:], encodedContent(ac), sig.Bytes()), nil
}

// InterimTranscriptHash returns Hash(confirmed || InterimTranscriptHashInput)
// (RFC 9420 §8.2).
func InterimTranscriptHash(s *suite.Suite, confirmed, confirmationTag []byte) []byte {
	return s.Hash(confirmed, codec.Marshal(wire.InterimTranscriptHashInput{ConfirmationTag: confirmationTag}))
}

// TranscriptHashes returns the confirmed and interim transcript hashes after
// the commit ac, whose confirmation tag must be set.
func TranscriptHashes(s *suite.Suite, interimBefore []byte, ac *wire.AuthenticatedContent) (confirmed, interim []byte, err error) {
	confirmed, err = ConfirmedTranscriptHash(s, interimBefore, ac)
	if err != nil {
		return nil, nil, err
	}
	return confirmed, InterimTranscriptHash(s, confirmed, ac.Auth.ConfirmationTag), nil
}

// ConfirmationTag returns MAC(confirmationKey, confirmedTranscriptHash)
// (RFC 9420 §8.1).
func ConfirmationTag(s *suite.Suite, confirmationKey, confirmedTranscriptHash []byte) []byte {
	return s.MAC(confirmationKey, confirmedTranscriptHash)
}

// VerifyConfirmationTag checks tag in constant time and returns an error
// wrapping [ErrBadConfirmationTag] if it is wrong.
func VerifyConfirmationTag(s *suite.Suite, confirmationKey, confirmedTranscriptHash, tag []byte) error {
	if !s.VerifyMAC(confirmationKey, confirmedTranscriptHash, tag) {
		return ErrBadConfirmationTag
	}
	return nil
}
