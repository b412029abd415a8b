package wire

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// MLSMessage is the outermost framing of everything MLS sends
// (RFC 9420 §6). The field matching WireFormat is set. The decoder accepts
// only [ProtocolVersionMLS10] and the five wire formats of RFC 9420.
type MLSMessage struct {
	Version        ProtocolVersion
	WireFormat     WireFormat
	PublicMessage  *PublicMessage
	PrivateMessage *PrivateMessage
	Welcome        *Welcome
	GroupInfo      *GroupInfo
	KeyPackage     *KeyPackage
}

// body returns the variant selected by WireFormat, or nil.
func (m *MLSMessage) body() codec.Marshaler {
	switch {
	case m.WireFormat == WireFormatPublicMessage && m.PublicMessage != nil:
		return m.PublicMessage
	case m.WireFormat == WireFormatPrivateMessage && m.PrivateMessage != nil:
		return m.PrivateMessage
	case m.WireFormat == WireFormatWelcome && m.Welcome != nil:
		return m.Welcome
	case m.WireFormat == WireFormatGroupInfo && m.GroupInfo != nil:
		return m.GroupInfo
	case m.WireFormat == WireFormatKeyPackage && m.KeyPackage != nil:
		return m.KeyPackage
	}
	return nil
}

// MarshalTLS implements [codec.Marshaler]. A message whose variant is
// missing is written with an empty body, which no decoder accepts. The
// variants other than the frequent private message are written through
// [codec.Writer.Nested], so that encoding a private message keeps w on its
// caller's stack.
func (m MLSMessage) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(m.Version))
	w.Uint16(uint16(m.WireFormat))
	if m.WireFormat == WireFormatPrivateMessage && m.PrivateMessage != nil {
		m.PrivateMessage.MarshalTLS(w)
	} else if b := m.body(); b != nil {
		w.Nested(b)
	}
}

// UnmarshalTLS implements [codec.Unmarshaler].
func (m *MLSMessage) UnmarshalTLS(r *codec.Reader) { m.unmarshal(r, nil, false) }

// unmarshal is UnmarshalTLS; a private message is decoded into priv if it
// is not nil, and a public message keeps its RawContent if raw is set.
func (m *MLSMessage) unmarshal(r *codec.Reader, priv *PrivateMessage, raw bool) {
	*m = MLSMessage{Version: ProtocolVersion(r.Uint16())}
	if r.Err() == nil && m.Version != ProtocolVersionMLS10 {
		invalid(r, "protocol version %d", m.Version)
		return
	}
	m.WireFormat = WireFormat(r.Uint16())
	if r.Err() != nil {
		return
	}
	switch m.WireFormat {
	case WireFormatPublicMessage:
		m.PublicMessage = new(PublicMessage)
		m.PublicMessage.unmarshal(r, raw)
	case WireFormatPrivateMessage:
		if priv == nil {
			priv = new(PrivateMessage)
		}
		m.PrivateMessage = priv
		m.PrivateMessage.UnmarshalTLS(r)
	case WireFormatWelcome:
		m.Welcome = new(Welcome)
		m.Welcome.UnmarshalTLS(r)
	case WireFormatGroupInfo:
		m.GroupInfo = new(GroupInfo)
		m.GroupInfo.UnmarshalTLS(r)
	case WireFormatKeyPackage:
		m.KeyPackage = new(KeyPackage)
		m.KeyPackage.UnmarshalTLS(r)
	default:
		invalid(r, "wire format %d", m.WireFormat)
	}
}

// ParseMLSMessage decodes a complete MLSMessage of at most maxSize bytes
// (maxSize ≤ 0 means no limit). A longer input fails with an error wrapping
// [codec.ErrTooLong] before any decoding; malformed input fails with the
// decoder's error (wrapping [codec.ErrInvalid], [codec.ErrShort], ...). A
// PublicMessage keeps the slice of b its content was decoded from
// ([PublicMessage.RawContent]).
func ParseMLSMessage(b []byte, maxSize int) (*MLSMessage, error) {
	if maxSize > 0 && len(b) > maxSize {
		return nil, fmt.Errorf("parse mls message: %w: %d bytes > %d", codec.ErrTooLong, len(b), maxSize)
	}
	// The message, the reader and the most frequent variant are allocated
	// together.
	p := new(struct {
		m    MLSMessage
		priv PrivateMessage
		r    codec.Reader
	})
	p.r.Reset(b)
	p.m.unmarshal(&p.r, &p.priv, true)
	if err := p.r.Finish(); err != nil {
		return nil, fmt.Errorf("parse mls message: %w", err)
	}
	return &p.m, nil
}
