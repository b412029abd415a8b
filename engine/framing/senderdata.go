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

// senderDataAAD encodes SenderDataAAD for pm.
func senderDataAAD(pm *wire.PrivateMessage) []byte {
	return codec.Marshal(wire.SenderDataAAD{GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType})
}

// sealSenderData sets pm.EncryptedSenderData; pm.Ciphertext must be set.
func sealSenderData(s *suite.Suite, senderDataSecret []byte, pm *wire.PrivateMessage, sd *wire.SenderData) error {
	key, nonce := SenderDataKeyNonce(s, senderDataSecret, pm.Ciphertext)
	ct, err := s.Seal(key, nonce, senderDataAAD(pm), codec.Marshal(sd))
	if err != nil {
		return fmt.Errorf("seal sender data: %w", err)
	}
	pm.EncryptedSenderData = ct
	return nil
}

// OpenSenderData decrypts and decodes the sender data of pm.
func OpenSenderData(s *suite.Suite, senderDataSecret []byte, pm *wire.PrivateMessage) (*wire.SenderData, error) {
	key, nonce := SenderDataKeyNonce(s, senderDataSecret, pm.Ciphertext)
	pt, err := s.Open(key, nonce, senderDataAAD(pm), pm.EncryptedSenderData)
	if err != nil {
		return nil, fmt.Errorf("open sender data: %w: %w", ErrDecrypt, err)
	}
	var sd wire.SenderData
	if err := codec.Unmarshal(pt, &sd); err != nil {
		return nil, fmt.Errorf("open sender data: %w: %w", ErrMalformed, err)
	}
	return &sd, nil
}
