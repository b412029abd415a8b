package wire

import "github.com/mlsbackup/mlsbackup/engine/codec"

// PreSharedKeyID identifies a pre-shared key (RFC 9420 §8.4). PSKID is set
// for external PSKs; Usage, PSKGroupID and PSKEpoch for resumption PSKs.
type PreSharedKeyID struct {
	PSKType    PSKType
	PSKID      []byte
	Usage      ResumptionPSKUsage
	PSKGroupID []byte
	PSKEpoch   uint64
	PSKNonce   []byte
}

// MarshalTLS implements [codec.Marshaler].
func (p PreSharedKeyID) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(p.PSKType))
	switch p.PSKType {
	case PSKTypeExternal:
		w.Opaque(p.PSKID)
	case PSKTypeResumption:
		w.Uint8(uint8(p.Usage))
		w.Opaque(p.PSKGroupID)
		w.Uint64(p.PSKEpoch)
	}
	w.Opaque(p.PSKNonce)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (p *PreSharedKeyID) UnmarshalTLS(r *codec.Reader) {
	*p = PreSharedKeyID{PSKType: PSKType(r.Uint8())}
	if r.Err() != nil {
		return
	}
	switch p.PSKType {
	case PSKTypeExternal:
		p.PSKID = r.Opaque()
	case PSKTypeResumption:
		p.Usage = ResumptionPSKUsage(r.Uint8())
		if r.Err() == nil && (p.Usage < ResumptionPSKUsageApplication || p.Usage > ResumptionPSKUsageBranch) {
			invalid(r, "resumption psk usage %d", p.Usage)
			return
		}
		p.PSKGroupID = r.Opaque()
		p.PSKEpoch = r.Uint64()
	default:
		invalid(r, "psk type %d", p.PSKType)
		return
	}
	p.PSKNonce = r.Opaque()
}

// PSKLabel is the input to the PSK secret derivation (RFC 9420 §8.4).
type PSKLabel struct {
	ID    PreSharedKeyID
	Index uint16
	Count uint16
}

// MarshalTLS implements [codec.Marshaler].
func (l PSKLabel) MarshalTLS(w *codec.Writer) {
	l.ID.MarshalTLS(w)
	w.Uint16(l.Index)
	w.Uint16(l.Count)
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (l *PSKLabel) UnmarshalTLS(r *codec.Reader) {
	l.ID.UnmarshalTLS(r)
	l.Index = r.Uint16()
	l.Count = r.Uint16()
}
