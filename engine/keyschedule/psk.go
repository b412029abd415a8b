package keyschedule

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// PSK is one pre-shared key injected into an epoch (RFC 9420 §8.4).
type PSK struct {
	// ID is the serialized PreSharedKeyID naming the PSK.
	ID []byte
	// Secret is the PSK value: an external PSK or a resumption_psk.
	Secret []byte
}

// MaxPSKs is the largest number of PSKs one epoch can use (PSKLabel.count
// is a uint16).
const MaxPSKs = 0xffff

// PSKSecret chains psks into psk_secret (RFC 9420 §8.4):
//
//	psk_extracted_[i] = Extract(0, psk_[i])
//	psk_input_[i]     = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel{id, i, n}, Nh)
//	psk_secret_[i+1]  = Extract(psk_input_[i], psk_secret_[i])
//
// with psk_secret_[0] the all-zero string. The salt of the last Extract is
// psk_input_[i], as in the RFC's pseudocode (the interop vectors confirm it). With no PSKs it returns the
// all-zero string of length Nh. In FIPS 140-only mode a PSK shorter than
// 112 bits is refused ([suite.CheckSecret]).
func PSKSecret(s *suite.Suite, psks []PSK) ([]byte, error) {
	if len(psks) > MaxPSKs {
		return nil, fmt.Errorf("%d psks: %w", len(psks), ErrLength)
	}
	for i, p := range psks {
		if err := suite.CheckSecret(p.Secret); err != nil {
			return nil, fmt.Errorf("psk %d: %w", i, err)
		}
	}
	secret := zero(s)
	for i, p := range psks {
		extracted := s.Extract(zero(s), p.Secret)
		w := codec.NewWriter(make([]byte, 0, len(p.ID)+4))
		w.Raw(p.ID)
		w.Uint16(uint16(i))
		w.Uint16(uint16(len(psks)))
		input := s.ExpandWithLabel(extracted, "derived psk", w.Bytes(), s.Nh())
		next := s.Extract(input, secret)
		clear(extracted)
		clear(input)
		clear(secret)
		secret = next
	}
	return secret, nil
}
