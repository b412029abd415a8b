package wire

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// ProtocolVersion is the MLS protocol version (RFC 9420 §6).
type ProtocolVersion uint16

// ProtocolVersionMLS10 is the only version defined by RFC 9420.
const ProtocolVersionMLS10 ProtocolVersion = 1

// CipherSuite identifies an MLS cipher suite (RFC 9420 §17.1).
type CipherSuite uint16

// The cipher suites of RFC 9420 §17.1.
const (
	MLS128DHKEMX25519AES128GCMSHA256Ed25519        CipherSuite = 0x0001
	MLS128DHKEMP256AES128GCMSHA256P256             CipherSuite = 0x0002
	MLS128DHKEMX25519ChaCha20Poly1305SHA256Ed25519 CipherSuite = 0x0003
	MLS256DHKEMX448AES256GCMSHA512Ed448            CipherSuite = 0x0004
	MLS256DHKEMP521AES256GCMSHA512P521             CipherSuite = 0x0005
	MLS256DHKEMX448ChaCha20Poly1305SHA512Ed448     CipherSuite = 0x0006
	MLS256DHKEMP384AES256GCMSHA384P384             CipherSuite = 0x0007
)

// ExtensionType identifies an extension (RFC 9420 §17.3).
type ExtensionType uint16

// The extension types of RFC 9420 §17.3.
const (
	ExtensionApplicationID        ExtensionType = 0x0001
	ExtensionRatchetTree          ExtensionType = 0x0002
	ExtensionRequiredCapabilities ExtensionType = 0x0003
	ExtensionExternalPub          ExtensionType = 0x0004
	ExtensionExternalSenders      ExtensionType = 0x0005
)

// ProposalType identifies a proposal (RFC 9420 §17.4).
type ProposalType uint16

// The proposal types of RFC 9420 §17.4.
const (
	ProposalTypeAdd                    ProposalType = 0x0001
	ProposalTypeUpdate                 ProposalType = 0x0002
	ProposalTypeRemove                 ProposalType = 0x0003
	ProposalTypePSK                    ProposalType = 0x0004
	ProposalTypeReInit                 ProposalType = 0x0005
	ProposalTypeExternalInit           ProposalType = 0x0006
	ProposalTypeGroupContextExtensions ProposalType = 0x0007
)

// CredentialType identifies a credential format (RFC 9420 §17.5).
type CredentialType uint16

// The credential types of RFC 9420 §17.5.
const (
	CredentialTypeBasic CredentialType = 0x0001
	CredentialTypeX509  CredentialType = 0x0002
)

// IsGREASE reports whether v is one of the GREASE values of RFC 9420 §13.5
// (0x0A0A, 0x1A1A, ..., 0xEAEA), which peers must ignore.
func IsGREASE(v uint16) bool {
	return v&0x0F0F == 0x0A0A && v>>12 == (v>>4)&0x0F && v != 0xFAFA
}

// WireFormat identifies the kind of message carried in an [MLSMessage]
// (RFC 9420 §17.2).
type WireFormat uint16

// The wire formats of RFC 9420 §17.2.
const (
	WireFormatPublicMessage  WireFormat = 0x0001
	WireFormatPrivateMessage WireFormat = 0x0002
	WireFormatWelcome        WireFormat = 0x0003
	WireFormatGroupInfo      WireFormat = 0x0004
	WireFormatKeyPackage     WireFormat = 0x0005
)

// ContentType is the kind of content in a [FramedContent] (RFC 9420 §6).
type ContentType uint8

// The content types of RFC 9420 §6.
const (
	ContentTypeApplication ContentType = 1
	ContentTypeProposal    ContentType = 2
	ContentTypeCommit      ContentType = 3
)

func (c ContentType) valid() bool { return c >= ContentTypeApplication && c <= ContentTypeCommit }

// SenderType is the kind of sender of a message (RFC 9420 §6).
type SenderType uint8

// The sender types of RFC 9420 §6.
const (
	SenderTypeMember            SenderType = 1
	SenderTypeExternal          SenderType = 2
	SenderTypeNewMemberProposal SenderType = 3
	SenderTypeNewMemberCommit   SenderType = 4
)

// LeafNodeSource says how a leaf node was created (RFC 9420 §7.2).
type LeafNodeSource uint8

// The leaf node sources of RFC 9420 §7.2.
const (
	LeafNodeSourceKeyPackage LeafNodeSource = 1
	LeafNodeSourceUpdate     LeafNodeSource = 2
	LeafNodeSourceCommit     LeafNodeSource = 3
)

// NodeType distinguishes leaf and parent nodes (RFC 9420 §7.8).
type NodeType uint8

// The node types of RFC 9420 §7.8.
const (
	NodeTypeLeaf   NodeType = 1
	NodeTypeParent NodeType = 2
)

// PSKType distinguishes external and resumption PSKs (RFC 9420 §8.4).
type PSKType uint8

// The PSK types of RFC 9420 §8.4.
const (
	PSKTypeExternal   PSKType = 1
	PSKTypeResumption PSKType = 2
)

// ResumptionPSKUsage says what a resumption PSK is used for (RFC 9420 §8.4).
type ResumptionPSKUsage uint8

// The resumption PSK usages of RFC 9420 §8.4.
const (
	ResumptionPSKUsageApplication ResumptionPSKUsage = 1
	ResumptionPSKUsageReInit      ResumptionPSKUsage = 2
	ResumptionPSKUsageBranch      ResumptionPSKUsage = 3
)

// ProposalOrRefType distinguishes inline proposals from references
// (RFC 9420 §12.4).
type ProposalOrRefType uint8

// The ProposalOrRef types of RFC 9420 §12.4.
const (
	ProposalOrRefTypeProposal  ProposalOrRefType = 1
	ProposalOrRefTypeReference ProposalOrRefType = 2
)

// invalid records an invalid-value error on r.
func invalid(r *codec.Reader, format string, args ...any) {
	r.Fail(fmt.Errorf("%w: "+format, append([]any{codec.ErrInvalid}, args...)...))
}

// writeUint16s writes a vector of uint16 values.
func writeUint16s[T ~uint16](w *codec.Writer, vs []T) {
	w.Vector(func(w *codec.Writer) {
		for _, v := range vs {
			w.Uint16(uint16(v))
		}
	})
}

// readUint16s reads a vector of uint16 values. It allocates the result
// once: a joiner decodes five such lists per leaf (capabilities).
func readUint16s[T ~uint16](r *codec.Reader) []T {
	body := r.Opaque()
	if r.Err() != nil {
		return nil
	}
	if len(body)%2 != 0 {
		// What Vector reports when the last element is cut short.
		r.Fail(codec.ErrShort)
		return nil
	}
	out := make([]T, len(body)/2)
	for i := range out {
		out[i] = T(body[2*i])<<8 | T(body[2*i+1])
	}
	return out
}

// writeUint32s writes a vector of uint32 values.
func writeUint32s(w *codec.Writer, vs []uint32) {
	w.Vector(func(w *codec.Writer) {
		for _, v := range vs {
			w.Uint32(v)
		}
	})
}

// readUint32s reads a vector of uint32 values.
func readUint32s(r *codec.Reader) []uint32 {
	out := []uint32{}
	r.Vector(func(r *codec.Reader) { out = append(out, r.Uint32()) })
	if r.Err() != nil {
		return nil
	}
	return out
}

// writeList writes a vector of structs.
func writeList[T codec.Marshaler](w *codec.Writer, vs []T) {
	w.Vector(func(w *codec.Writer) {
		for _, v := range vs {
			v.MarshalTLS(w)
		}
	})
}

// readList reads a vector of structs, each decoded into a zero T.
func readList[T any, PT interface {
	*T
	codec.Unmarshaler
}](r *codec.Reader) []T {
	return readListCap[T, PT](r, 0)
}

// readListCap is readList into a list with room for n elements. Each
// element is decoded in its place in the list: a T decoded on its own and
// appended would be moved to the heap for the call through PT.
func readListCap[T any, PT interface {
	*T
	codec.Unmarshaler
}](r *codec.Reader, n int) []T {
	out := make([]T, 0, n)
	r.Vector(func(r *codec.Reader) {
		var zero T
		out = append(out, zero)
		PT(&out[len(out)-1]).UnmarshalTLS(r)
	})
	if r.Err() != nil {
		return nil
	}
	return out
}
