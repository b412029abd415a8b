package wire

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

// messagesVector is one case of messages.json.
type messagesVector struct {
	MLSWelcome                     vectors.Hex `json:"mls_welcome"`
	MLSGroupInfo                   vectors.Hex `json:"mls_group_info"`
	MLSKeyPackage                  vectors.Hex `json:"mls_key_package"`
	RatchetTree                    vectors.Hex `json:"ratchet_tree"`
	GroupSecrets                   vectors.Hex `json:"group_secrets"`
	AddProposal                    vectors.Hex `json:"add_proposal"`
	UpdateProposal                 vectors.Hex `json:"update_proposal"`
	RemoveProposal                 vectors.Hex `json:"remove_proposal"`
	PreSharedKeyProposal           vectors.Hex `json:"pre_shared_key_proposal"`
	ReInitProposal                 vectors.Hex `json:"re_init_proposal"`
	ExternalInitProposal           vectors.Hex `json:"external_init_proposal"`
	GroupContextExtensionsProposal vectors.Hex `json:"group_context_extensions_proposal"`
	Commit                         vectors.Hex `json:"commit"`
	PublicMessageApplication       vectors.Hex `json:"public_message_application"`
	PublicMessageProposal          vectors.Hex `json:"public_message_proposal"`
	PublicMessageCommit            vectors.Hex `json:"public_message_commit"`
	PrivateMessage                 vectors.Hex `json:"private_message"`
}

// messageField is one field of a messages.json case with a fresh decoder.
type messageField struct {
	name string
	data []byte
	dec  interface {
		codec.Marshaler
		codec.Unmarshaler
	}
}

func (v *messagesVector) fields() []messageField {
	return []messageField{
		{"mls_welcome", v.MLSWelcome, new(MLSMessage)},
		{"mls_group_info", v.MLSGroupInfo, new(MLSMessage)},
		{"mls_key_package", v.MLSKeyPackage, new(MLSMessage)},
		{"ratchet_tree", v.RatchetTree, new(RatchetTree)},
		{"group_secrets", v.GroupSecrets, new(GroupSecrets)},
		{"add_proposal", v.AddProposal, new(Add)},
		{"update_proposal", v.UpdateProposal, new(Update)},
		{"remove_proposal", v.RemoveProposal, new(Remove)},
		{"pre_shared_key_proposal", v.PreSharedKeyProposal, new(PreSharedKey)},
		{"re_init_proposal", v.ReInitProposal, new(ReInit)},
		{"external_init_proposal", v.ExternalInitProposal, new(ExternalInit)},
		{"group_context_extensions_proposal", v.GroupContextExtensionsProposal, new(GroupContextExtensions)},
		{"commit", v.Commit, new(Commit)},
		{"public_message_application", v.PublicMessageApplication, new(MLSMessage)},
		{"public_message_proposal", v.PublicMessageProposal, new(MLSMessage)},
		{"public_message_commit", v.PublicMessageCommit, new(MLSMessage)},
		{"private_message", v.PrivateMessage, new(MLSMessage)},
	}
}

func loadMessages(t testing.TB) []messagesVector {
	t.Helper()
	var cases []messagesVector
	if err := vectors.Load("messages", &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("messages.json has no cases")
	}
	return cases
}

func TestMessagesVectors(t *testing.T) {
	cases := loadMessages(t)
	passed := 0
	for i := range cases {
		ok := true
		for _, f := range cases[i].fields() {
			if err := codec.Unmarshal(f.data, f.dec); err != nil {
				t.Errorf("case %d %s: decode: %v", i, f.name, err)
				ok = false
				continue
			}
			if got := codec.Marshal(f.dec); !bytes.Equal(got, f.data) {
				t.Errorf("case %d %s: re-encoding differs:\n got %x\nwant %x", i, f.name, got, f.data)
				ok = false
			}
		}
		if ok {
			passed++
		}
	}
	t.Logf("messages: %d/%d cases passed", passed, len(cases))
}
