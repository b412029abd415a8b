package engine

import (
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// pskSource looks up the secret of one PreSharedKeyID.
type pskSource func(ctx context.Context, id *wire.PreSharedKeyID) ([]byte, error)

// externalOnly resolves external PSKs from store and no resumption PSKs.
func externalOnly(store PSKStore) pskSource {
	return func(ctx context.Context, id *wire.PreSharedKeyID) ([]byte, error) {
		if id.PSKType != wire.PSKTypeExternal {
			return nil, fmt.Errorf("resumption psk of group %x epoch %d: %w", id.PSKGroupID, id.PSKEpoch, ErrUnknownPSK)
		}
		if store == nil {
			return nil, fmt.Errorf("external psk %x: no psk store: %w", id.PSKID, ErrUnknownPSK)
		}
		v, err := store.ExternalPSK(ctx, id.PSKID)
		if err != nil {
			return nil, fmt.Errorf("external psk %x: %w", id.PSKID, err)
		}
		return v, nil
	}
}

// groupPSKs resolves external PSKs from store and resumption PSKs of the
// group's retained epochs.
func (s *groupState) groupPSKs(store PSKStore) pskSource {
	ext := externalOnly(store)
	return func(ctx context.Context, id *wire.PreSharedKeyID) ([]byte, error) {
		if id.PSKType == wire.PSKTypeResumption {
			if string(id.PSKGroupID) != string(s.gc.GroupID) {
				return nil, fmt.Errorf("resumption psk of group %x: %w", id.PSKGroupID, ErrUnknownPSK)
			}
			v, ok := s.resumptionPSK(id.PSKEpoch)
			if !ok {
				return nil, fmt.Errorf("resumption psk of epoch %d: %w", id.PSKEpoch, ErrUnknownPSK)
			}
			return v, nil
		}
		return ext(ctx, id)
	}
}

// pskSecret computes psk_secret (RFC 9420 §8.4) for ids, or nil for none.
func pskSecret(ctx context.Context, cs *suite.Suite, ids []wire.PreSharedKeyID, src pskSource) ([]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > keyschedule.MaxPSKs {
		return nil, fmt.Errorf("%d psks: %w", len(ids), ErrInvalidProposal)
	}
	psks := make([]keyschedule.PSK, len(ids))
	for i := range ids {
		v, err := src(ctx, &ids[i])
		if err != nil {
			return nil, err
		}
		psks[i] = keyschedule.PSK{ID: codec.Marshal(ids[i]), Secret: v}
	}
	sec, err := keyschedule.PSKSecret(cs, psks)
	if err != nil {
		return nil, fmt.Errorf("psk secret: %w", err)
	}
	return sec, nil
}
