package wire

import (
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestDecodersReject(t *testing.T) {
	kp := codec.Marshal(sampleKeyPackage())
	private := func(ct byte) []byte {
		return cat([]byte{0, 1, 0, 2}, []byte{1, 'g'}, make([]byte, 8), []byte{ct, 0, 0, 0})
	}
	leafWithSource := func(src byte) []byte {
		l := sampleLeaf(LeafNodeSourceUpdate)
		var w codec.Writer
		w.Opaque(l.EncryptionKey)
		w.Opaque(l.SignatureKey)
		l.Credential.MarshalTLS(&w)
		l.Capabilities.MarshalTLS(&w)
		w.Uint8(src)
		return cat(w.Bytes(), []byte{0, 0})
	}
	content := func(sender []byte, ct byte) []byte {
		return cat([]byte{1, 'g'}, make([]byte, 8), sender, []byte{0, ct, 0})
	}
	for _, tc := range []struct {
		name string
		dec  codec.Unmarshaler
		in   []byte
		want error
	}{
		{"message/version 0", new(MLSMessage), cat([]byte{0, 0, 0, 5}, kp), codec.ErrInvalid},
		{"message/version 2", new(MLSMessage), cat([]byte{0, 2, 0, 5}, kp), codec.ErrInvalid},
		{"message/wire format 0", new(MLSMessage), cat([]byte{0, 1, 0, 0}, kp), codec.ErrInvalid},
		{"message/wire format 6", new(MLSMessage), cat([]byte{0, 1, 0, 6}, kp), codec.ErrInvalid},
		{"message/trailing byte", new(MLSMessage), cat([]byte{0, 1, 0, 5}, kp, []byte{0}), codec.ErrTrailing},
		{"message/empty", new(MLSMessage), nil, codec.ErrShort},
		{"private/content type 0", new(MLSMessage), private(0), codec.ErrInvalid},
		{"private/content type 4", new(MLSMessage), private(4), codec.ErrInvalid},
		{"private/valid", new(MLSMessage), private(1), nil},
		{"key package/trailing byte", new(KeyPackage), cat(kp, []byte{0}), codec.ErrTrailing},
		{"key package/truncated", new(KeyPackage), kp[:len(kp)-1], codec.ErrShort},
		{"proposal/type 0", new(Proposal), []byte{0, 0, 0, 0, 0, 1}, codec.ErrInvalid},
		{"proposal/type 8", new(Proposal), []byte{0, 8, 0, 0, 0, 1}, codec.ErrInvalid},
		{"proposal/grease", new(Proposal), []byte{0x0a, 0x0a, 0, 0, 0, 1}, codec.ErrInvalid},
		{"proposal/remove", new(Proposal), []byte{0, 3, 0, 0, 0, 1}, nil},
		{"proposal or ref/type 0", new(ProposalOrRef), []byte{0, 0}, codec.ErrInvalid},
		{"proposal or ref/type 3", new(ProposalOrRef), []byte{3, 0}, codec.ErrInvalid},
		{"commit/optional flag 2", new(Commit), []byte{0, 2}, codec.ErrInvalid},
		{"commit/empty", new(Commit), []byte{0, 0}, nil},
		{"credential/type 0", new(Credential), []byte{0, 0, 0}, codec.ErrInvalid},
		{"credential/type 3", new(Credential), []byte{0, 3, 0}, codec.ErrInvalid},
		{"leaf/source 0", new(LeafNode), leafWithSource(0), codec.ErrInvalid},
		{"leaf/source 4", new(LeafNode), leafWithSource(4), codec.ErrInvalid},
		{"leaf/source update", new(LeafNode), leafWithSource(2), nil},
		{"tree/node type 0", new(RatchetTree), []byte{2, 1, 0}, codec.ErrInvalid},
		{"tree/node type 3", new(RatchetTree), []byte{2, 1, 3}, codec.ErrInvalid},
		{"tree/optional flag 2", new(RatchetTree), []byte{1, 2}, codec.ErrInvalid},
		{"tree/blank", new(RatchetTree), []byte{1, 0}, nil},
		{"tree/length beyond input", new(RatchetTree), []byte{5, 0}, codec.ErrShort},
		{"tree/huge length", new(RatchetTree), []byte{0xbf, 0xff, 0xff, 0xff, 0}, codec.ErrShort},
		{"tree/non-minimal length", new(RatchetTree), []byte{0x40, 1, 0}, codec.ErrNonMinimal},
		{"sender/type 0", new(Sender), []byte{0}, codec.ErrInvalid},
		{"sender/type 5", new(Sender), []byte{5}, codec.ErrInvalid},
		{"content/sender type 0", new(FramedContent), content([]byte{0}, 1), codec.ErrInvalid},
		{"content/type 0", new(FramedContent), content([]byte{3}, 0), codec.ErrInvalid},
		{"content/type 4", new(FramedContent), content([]byte{3}, 4), codec.ErrInvalid},
		{"content/application", new(FramedContent), content([]byte{3}, 1), nil},
		{"psk/type 0", new(PreSharedKeyID), []byte{0, 0, 0}, codec.ErrInvalid},
		{"psk/type 3", new(PreSharedKeyID), []byte{3, 0, 0}, codec.ErrInvalid},
		{"psk/usage 0", new(PreSharedKeyID), cat([]byte{2, 0, 0}, make([]byte, 8), []byte{0}), codec.ErrInvalid},
		{"psk/usage 4", new(PreSharedKeyID), cat([]byte{2, 4, 0}, make([]byte, 8), []byte{0}), codec.ErrInvalid},
		{"psk/usage branch", new(PreSharedKeyID), cat([]byte{2, 3, 0}, make([]byte, 8), []byte{0}), nil},
		{"group secrets/optional flag 2", new(GroupSecrets), []byte{0, 2, 0}, codec.ErrInvalid},
		{"external init/non-minimal", new(ExternalInit), []byte{0x40, 0x01, 7}, codec.ErrNonMinimal},
		{"external init/reserved header", new(ExternalInit), []byte{0xc0, 0, 0, 0, 0, 0, 0, 1, 7}, codec.ErrInvalidHeader},
		{"external init/oversized", new(ExternalInit), []byte{0x3f, 7}, codec.ErrShort},
		{"sender data/short", new(SenderData), make([]byte, 11), codec.ErrShort},
		{"private content/non-zero padding", &PrivateMessageContent{ContentType: ContentTypeApplication}, []byte{1, 'x', 0, 0, 0, 1, 0}, codec.ErrInvalid},
		{"private content/zero padding", &PrivateMessageContent{ContentType: ContentTypeApplication}, []byte{1, 'x', 0, 0, 0, 0, 0}, nil},
		{"private content/no padding", &PrivateMessageContent{ContentType: ContentTypeApplication}, []byte{1, 'x', 0}, nil},
		{"private content/bad type", &PrivateMessageContent{ContentType: 7}, []byte{1, 'x', 0}, codec.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := codec.Unmarshal(tc.in, tc.dec)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestTruncatedVectorMessagesRejected checks that no proper prefix of a
// vector message decodes.
func TestTruncatedVectorMessagesRejected(t *testing.T) {
	msgs := loadCorpus(t).mlsMessages
	for i, b := range msgs[:min(len(msgs), 70)] {
		for n := 0; n < len(b); n++ {
			if err := codec.Unmarshal(b[:n], new(MLSMessage)); err == nil {
				t.Fatalf("message %d: prefix of %d/%d bytes decoded", i, n, len(b))
			}
		}
	}
}

func TestIsGREASE(t *testing.T) {
	for _, tc := range []struct {
		v    uint16
		want bool
	}{
		{0x0A0A, true}, {0x1A1A, true}, {0xEAEA, true}, {0xFAFA, false},
		{0x0A1A, false}, {0x0001, false}, {0x0B0B, false}, {0x1A0A, false},
	} {
		if got := IsGREASE(tc.v); got != tc.want {
			t.Errorf("IsGREASE(%#04x) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestParseMLSMessage(t *testing.T) {
	msg := codec.Marshal(MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: ptr(sampleKeyPackage())})
	for _, tc := range []struct {
		name    string
		in      []byte
		maxSize int
		want    error
	}{
		{"fits", msg, len(msg), nil},
		{"no limit", msg, 0, nil},
		{"too large", msg, len(msg) - 1, codec.ErrTooLong},
		{"trailing", append(append([]byte{}, msg...), 0), 0, codec.ErrTrailing},
		{"bad version", append([]byte{0, 9}, msg[2:]...), 0, codec.ErrInvalid},
	} {
		m, err := ParseMLSMessage(tc.in, tc.maxSize)
		switch {
		case tc.want == nil && (err != nil || m.KeyPackage == nil):
			t.Errorf("%s: got %v, want a key package", tc.name, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}
