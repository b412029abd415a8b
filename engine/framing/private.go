package framing

import (
	"fmt"
	"io"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// RatchetSecret is the key and nonce the secret tree yields for one
// generation of a sender's handshake or application ratchet.
type RatchetSecret struct {
	Key        []byte
	Nonce      []byte
	Generation uint32
}

// KeyFunc returns the key and nonce of generation of leaf's ratchet for
// content type ct (the application ratchet for application data, the
// handshake ratchet otherwise). It must not consume the key: the caller
// does that once [UnprotectPrivate] succeeded. Its errors are returned
// wrapped, unchanged in kind.
type KeyFunc func(leaf uint32, ct wire.ContentType, generation uint32) (key, nonce []byte, err error)

// guardNonce returns nonce with the reuse guard XORed into its first bytes
// (RFC 9420 §6.3.1). It does not modify nonce.
func guardNonce(nonce []byte, guard [wire.ReuseGuardSize]byte) []byte {
	out := append([]byte(nil), nonce...)
	for i := range guard {
		if i < len(out) {
			out[i] ^= guard[i]
		}
	}
	return out
}

// contentAAD encodes PrivateContentAAD for pm.
func contentAAD(pm *wire.PrivateMessage) []byte {
	return codec.Marshal(wire.PrivateContentAAD{
		GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType, AuthenticatedData: pm.AuthenticatedData,
	})
}

// ProtectPrivate encrypts signed content from a member into a
// PrivateMessage (RFC 9420 §6.3). secret is the sender's ratchet secret for
// this message (the caller advances and deletes it in the secret tree).
// The plaintext is padded with zero bytes to a multiple of padBlock bytes
// (no padding if padBlock ≤ 1). rand supplies the 4-byte reuse guard.
func ProtectPrivate(s *suite.Suite, senderDataSecret []byte, ac *wire.AuthenticatedContent, secret RatchetSecret, padBlock int, rand io.Reader) (*wire.PrivateMessage, error) {
	if ac.WireFormat != wire.WireFormatPrivateMessage {
		return nil, fmt.Errorf("protect private message: %w: wire format %d", ErrNotAllowed, ac.WireFormat)
	}
	if err := checkSender(ac.WireFormat, &ac.Content); err != nil {
		return nil, fmt.Errorf("protect private message: %w", err)
	}
	if err := checkAuth(ac); err != nil {
		return nil, fmt.Errorf("protect private message: %w", err)
	}
	c := &ac.Content
	content := wire.PrivateMessageContent{
		ContentType: c.ContentType, ApplicationData: c.ApplicationData,
		Proposal: c.Proposal, Commit: c.Commit, Auth: ac.Auth,
	}
	if padBlock > 1 {
		n := len(codec.Marshal(content))
		content.PaddingLen = (padBlock - n%padBlock) % padBlock
	}
	sd := wire.SenderData{LeafIndex: c.Sender.LeafIndex, Generation: secret.Generation}
	if _, err := io.ReadFull(rand, sd.ReuseGuard[:]); err != nil {
		return nil, fmt.Errorf("protect private message: reuse guard: %w", err)
	}
	pm := &wire.PrivateMessage{
		GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData,
	}
	ct, err := s.Seal(secret.Key, guardNonce(secret.Nonce, sd.ReuseGuard), contentAAD(pm), codec.Marshal(content))
	if err != nil {
		return nil, fmt.Errorf("protect private message: %w", err)
	}
	pm.Ciphertext = ct
	if err := sealSenderData(s, senderDataSecret, pm, &sd); err != nil {
		return nil, fmt.Errorf("protect private message: %w", err)
	}
	return pm, nil
}

// UnprotectPrivate decrypts a PrivateMessage of the epoch described by gc
// (RFC 9420 §6.3): it checks the group and epoch, decrypts the sender data
// with senderDataSecret, asks keys for the sender's ratchet key, decrypts
// and decodes the content (rejecting non-zero padding) and returns the
// authenticated content and the sender data. It changes no state. The caller
// must still check that the sender leaf is a member, verify the signature
// with [VerifySignature] and consume the ratchet key.
func UnprotectPrivate(s *suite.Suite, senderDataSecret []byte, pm *wire.PrivateMessage, gc *wire.GroupContext, keys KeyFunc) (*wire.AuthenticatedContent, *wire.SenderData, error) {
	if err := checkGroup(pm.GroupID, pm.Epoch, gc); err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: %w", err)
	}
	sd, err := OpenSenderData(s, senderDataSecret, pm)
	if err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: %w", err)
	}
	key, nonce, err := keys(sd.LeafIndex, pm.ContentType, sd.Generation)
	if err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: key for leaf %d generation %d: %w", sd.LeafIndex, sd.Generation, err)
	}
	pt, err := s.Open(key, guardNonce(nonce, sd.ReuseGuard), contentAAD(pm), pm.Ciphertext)
	if err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: %w: %w", ErrDecrypt, err)
	}
	content := wire.PrivateMessageContent{ContentType: pm.ContentType}
	if err := codec.Unmarshal(pt, &content); err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: %w: %w", ErrMalformed, err)
	}
	ac := &wire.AuthenticatedContent{
		WireFormat: wire.WireFormatPrivateMessage,
		Content:    content.FramedContent(pm, wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: sd.LeafIndex}),
		Auth:       content.Auth,
	}
	if err := checkAuth(ac); err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: %w", err)
	}
	return ac, sd, nil
}
