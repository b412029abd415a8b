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

// appendGuardedNonce appends nonce with the reuse guard XORed into its
// first bytes (RFC 9420 §6.3.1). It does not modify nonce.
func appendGuardedNonce(dst, nonce []byte, guard [wire.ReuseGuardSize]byte) []byte {
	start := len(dst)
	dst = append(dst, nonce...)
	out := dst[start:]
	for i := range guard {
		if i < len(out) {
			out[i] ^= guard[i]
		}
	}
	return dst
}

// piece returns buf[start:] with its capacity cut to its length, so that
// appending to buf afterwards never writes into it.
func piece(buf []byte, start int) []byte { return buf[start:len(buf):len(buf)] }

// contentAADLen is the encoded length of PrivateContentAAD for pm.
func contentAADLen(pm *wire.PrivateMessage) int {
	return codec.OpaqueLen(pm.GroupID) + 8 + 1 + codec.OpaqueLen(pm.AuthenticatedData)
}

// appendContentAAD appends the encoding of PrivateContentAAD for pm.
func appendContentAAD(dst []byte, pm *wire.PrivateMessage) []byte {
	return codec.Append(dst, wire.PrivateContentAAD{
		GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType, AuthenticatedData: pm.AuthenticatedData,
	})
}

// contentSizeHint bounds the encoded length of an application message's
// content (the encoding of proposals and commits is not estimated: their
// buffer grows as needed) plus up to padBlock bytes of padding.
func contentSizeHint(c *wire.PrivateMessageContent, padBlock int) int {
	return codec.OpaqueLen(c.ApplicationData) + codec.OpaqueLen(c.Auth.Signature) +
		codec.OpaqueLen(c.Auth.ConfirmationTag) + max(padBlock, 0)
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
	pm := &wire.PrivateMessage{
		GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData,
	}
	// One buffer holds every input of the two encryptions, each piece
	// capped at its length: the reuse guard, the guarded nonce, both AADs,
	// the sender data and, last, the padded content plaintext.
	buf := make([]byte, wire.ReuseGuardSize, wire.ReuseGuardSize+len(secret.Nonce)+contentAADLen(pm)+
		senderDataAADLen(pm)+senderDataLen+contentSizeHint(&content, padBlock))
	if _, err := io.ReadFull(rand, buf); err != nil {
		return nil, fmt.Errorf("protect private message: reuse guard: %w", err)
	}
	sd := wire.SenderData{LeafIndex: c.Sender.LeafIndex, Generation: secret.Generation, ReuseGuard: [wire.ReuseGuardSize]byte(buf)}
	start := len(buf)
	buf = appendGuardedNonce(buf, secret.Nonce, sd.ReuseGuard)
	nonce := piece(buf, start)
	start = len(buf)
	buf = appendContentAAD(buf, pm)
	aad := piece(buf, start)
	start = len(buf)
	buf = appendSenderDataAAD(buf, pm)
	sdAAD := piece(buf, start)
	start = len(buf)
	buf = codec.Append(buf, sd)
	sdPlain := piece(buf, start)
	start = len(buf)
	buf = codec.Append(buf, content)
	if n := len(buf) - start; padBlock > 1 {
		buf = append(buf, make([]byte, (padBlock-n%padBlock)%padBlock)...)
	}
	ct, err := s.Seal(secret.Key, nonce, aad, buf[start:])
	if err != nil {
		return nil, fmt.Errorf("protect private message: %w", err)
	}
	pm.Ciphertext = ct
	if err := sealSenderData(s, senderDataSecret, pm, sdAAD, sdPlain); err != nil {
		return nil, fmt.Errorf("protect private message: %w", err)
	}
	return pm, nil
}

// opened is what [UnprotectPrivate] allocates per message, in one piece:
// the results it returns pointers to, the reader of the plaintext and room
// for the AADs and nonce.
type opened struct {
	ac      wire.AuthenticatedContent
	sd      wire.SenderData
	content wire.PrivateMessageContent
	r       codec.Reader
	scratch [openScratch]byte
}

// openScratch is the size of [opened]'s scratch array: enough for the AADs
// and nonce of a message whose group id and authenticated data are short.
const openScratch = 128

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
	// One buffer holds both AADs and the guarded nonce: o's scratch
	// array unless they are longer.
	o := &opened{}
	buf := o.scratch[:0]
	if n := senderDataAADLen(pm) + contentAADLen(pm) + s.NonceSize(); n > len(o.scratch) {
		buf = make([]byte, 0, n)
	}
	buf = appendSenderDataAAD(buf, pm)
	if err := openSenderData(s, senderDataSecret, pm, piece(buf, 0), &o.sd, &o.r); err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: %w", err)
	}
	sd := &o.sd
	key, nonce, err := keys(sd.LeafIndex, pm.ContentType, sd.Generation)
	if err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: key for leaf %d generation %d: %w", sd.LeafIndex, sd.Generation, err)
	}
	start := len(buf)
	buf = appendContentAAD(buf, pm)
	aad := piece(buf, start)
	start = len(buf)
	buf = appendGuardedNonce(buf, nonce, sd.ReuseGuard)
	pt, err := s.Open(key, buf[start:], aad, pm.Ciphertext)
	if err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: %w: %w", ErrDecrypt, err)
	}
	o.content.ContentType = pm.ContentType
	o.r.Reset(pt)
	o.content.UnmarshalTLS(&o.r)
	if err := o.r.Finish(); err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: %w: %w", ErrMalformed, err)
	}
	o.ac = wire.AuthenticatedContent{
		WireFormat: wire.WireFormatPrivateMessage,
		Content:    o.content.FramedContent(pm, wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: sd.LeafIndex}),
		Auth:       o.content.Auth,
	}
	if err := checkAuth(&o.ac); err != nil {
		return nil, nil, fmt.Errorf("unprotect private message: %w", err)
	}
	return &o.ac, sd, nil
}
