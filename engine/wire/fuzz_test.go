package wire

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
)

// fuzzDecoder checks, for any input, that decoding does not panic and that
// every accepted input re-encodes to exactly the same bytes (the decoders
// accept only canonical encodings) and decodes again.
func fuzzDecoder(f *testing.F, seeds [][]byte, fresh func() codecValue) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v := fresh()
		if err := codec.Unmarshal(data, v); err != nil {
			return
		}
		enc := codec.Marshal(v)
		if !bytes.Equal(enc, data) {
			t.Fatalf("accepted input re-encodes differently:\n in  %x\n out %x", data, enc)
		}
		if err := codec.Unmarshal(enc, fresh()); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
	})
}

func FuzzMLSMessage(f *testing.F) {
	fuzzDecoder(f, loadCorpus(f).mlsMessages, func() codecValue { return new(MLSMessage) })
}

func FuzzKeyPackage(f *testing.F) {
	fuzzDecoder(f, loadCorpus(f).keyPackages, func() codecValue { return new(KeyPackage) })
}

func FuzzWelcome(f *testing.F) {
	fuzzDecoder(f, loadCorpus(f).welcomes, func() codecValue { return new(Welcome) })
}

func FuzzGroupInfo(f *testing.F) {
	fuzzDecoder(f, loadCorpus(f).groupInfos, func() codecValue { return new(GroupInfo) })
}

func FuzzRatchetTree(f *testing.F) {
	fuzzDecoder(f, loadCorpus(f).trees, func() codecValue { return new(RatchetTree) })
}

// FuzzPrivateMessageContent covers the padding rules of the decrypted
// content, whose decoder depends on the content type.
func FuzzPrivateMessageContent(f *testing.F) {
	for _, ct := range []ContentType{ContentTypeApplication, ContentTypeProposal, ContentTypeCommit} {
		f.Add(uint8(ct), codec.Marshal(PrivateMessageContent{ContentType: ct, ApplicationData: []byte("hi"),
			Proposal: &Proposal{ProposalType: ProposalTypeRemove, Remove: &Remove{Removed: 3}},
			Commit:   &Commit{}, Auth: FramedContentAuthData{Signature: []byte{1}, ConfirmationTag: []byte{2}}, PaddingLen: 5}))
	}
	f.Fuzz(func(t *testing.T, ct uint8, data []byte) {
		v := PrivateMessageContent{ContentType: ContentType(ct)}
		if err := codec.Unmarshal(data, &v); err != nil {
			return
		}
		if enc := codec.Marshal(v); !bytes.Equal(enc, data) {
			t.Fatalf("accepted input re-encodes differently:\n in  %x\n out %x", data, enc)
		}
	})
}
