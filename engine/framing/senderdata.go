package framing

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// SenderDataKeyNonce derives the key and nonce that protect a
// PrivateMessage's sender data from the epoch's sender_data_secret and the
// first Nh bytes of the content ciphertext (RFC 9420 §6.3.2).
func SenderDataKeyNonce(s *suite.Suite, senderDataSecret, ciphertext []byte) (key, nonce []byte) {
	sample := ciphertext[:min(len(ciphertext), s.Nh())]
	key = s.ExpandWithLabel(senderDataSecret, "key", sample, s.KeySize())
	nonce = s.ExpandWithLabel(senderDataSecret, "nonce", sample, s.NonceSize())
	return key, nonce
}

// senderDataLen is the encoded length of SenderData.
const senderDataLen = 4 + 4 + wire.ReuseGuardSize

// senderDataAADLen is the encoded length of SenderDataAAD for pm.
func senderDataAADLen(pm *wire.PrivateMessage) int { return codec.OpaqueLen(pm.GroupID) + 8 + 1 }

// appendSenderDataAAD appends the encoding of SenderDataAAD for pm.
func appendSenderDataAAD(dst []byte, pm *wire.PrivateMessage) []byte {
	return codec.Append(dst, wire.SenderDataAAD{GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType})
}

// sealSenderData sets pm.EncryptedSenderData to the encryption of the
// encoded sender data plain under the AAD aad; pm.Ciphertext must be set.
func sealSenderData(s *suite.Suite, senderDataSecret []byte, pm *wire.PrivateMessage, aad, plain []byte) error {
	key, nonce := SenderDataKeyNonce(s, senderDataSecret, pm.Ciphertext)
	ct, err := s.Seal(key, nonce, aad, plain)
	if err != nil {
		return fmt.Errorf("seal sender data: %w", err)
	}
	pm.EncryptedSenderData = ct
	return nil
}

// OpenSenderData decrypts and decodes the sender data of pm.
func OpenSenderData(s *suite.Suite, senderDataSecret []byte, pm *wire.PrivateMessage) (*wire.SenderData, error) {
	var sd wire.SenderData
	var r codec.Reader
	if err := openSenderData(s, senderDataSecret, pm, appendSenderDataAAD(nil, pm), &sd, &r); err != nil {
		return nil, err
	}
	return &sd, nil
}

// openSenderData decrypts the sender data of pm, whose encoded
// SenderDataAAD is aad, and decodes it into sd with r.
func openSenderData(s *suite.Suite, senderDataSecret []byte, pm *wire.PrivateMessage, aad []byte, sd *wire.SenderData, r *codec.Reader) error {
	key, nonce := SenderDataKeyNonce(s, senderDataSecret, pm.Ciphertext)
	pt, err := s.Open(key, nonce, aad, pm.EncryptedSenderData)
	if err != nil {
		return fmt.Errorf("open sender data: %w: %w", ErrDecrypt, err)
	}
	r.Reset(pt)
	sd.UnmarshalTLS(r)
	if err := r.Finish(); err != nil {
		return fmt.Errorf("open sender data: %w: %w", ErrMalformed, err)
	}
	return nil
}
