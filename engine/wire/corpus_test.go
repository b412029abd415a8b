package wire

import (
	"bytes"
	"sync"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

// corpus holds encoded wire objects from the interop vectors, by kind.
type corpus struct {
	mlsMessages [][]byte // MLSMessage of any wire format
	keyPackages [][]byte // KeyPackage (without MLSMessage framing)
	welcomes    [][]byte // Welcome (without MLSMessage framing)
	groupInfos  [][]byte // GroupInfo (without MLSMessage framing)
	trees       [][]byte // optional<Node> ratchet_tree<V>
	proposals   [][]byte // Proposal
	updatePaths [][]byte // UpdatePath
}

// corpusCache memoizes the corpus: several tests and fuzz targets share it
// and decoding the vector files dominates their run time.
var corpusCache struct {
	once sync.Once
	c    *corpus
	err  error
}

// loadCorpus returns the shared corpus (see [buildCorpus]).
func loadCorpus(t testing.TB) *corpus {
	t.Helper()
	corpusCache.once.Do(func() { corpusCache.c, corpusCache.err = buildCorpus() })
	if corpusCache.err != nil {
		t.Fatal(corpusCache.err)
	}
	return corpusCache.c
}

// buildCorpus collects every wire object of the vector files other than
// messages.json (which [TestMessagesVectors] covers field by field) plus the
// messages.json objects, so fuzz targets get seeds of every kind.
func buildCorpus() (*corpus, error) {
	c := &corpus{}
	var messages []messagesVector
	if err := vectors.Load("messages", &messages); err != nil {
		return nil, err
	}
	for _, m := range messages {
		c.mlsMessages = append(c.mlsMessages, m.MLSWelcome, m.MLSGroupInfo, m.MLSKeyPackage,
			m.PublicMessageApplication, m.PublicMessageProposal, m.PublicMessageCommit, m.PrivateMessage)
		c.welcomes = append(c.welcomes, m.MLSWelcome[4:])
		c.groupInfos = append(c.groupInfos, m.MLSGroupInfo[4:])
		c.keyPackages = append(c.keyPackages, m.MLSKeyPackage[4:])
		c.trees = append(c.trees, m.RatchetTree)
	}

	var welcome []struct {
		KeyPackage vectors.Hex `json:"key_package"`
		Welcome    vectors.Hex `json:"welcome"`
	}
	if err := vectors.Load("welcome", &welcome); err != nil {
		return nil, err
	}
	for _, w := range welcome {
		c.mlsMessages = append(c.mlsMessages, w.KeyPackage, w.Welcome)
	}

	var passive []struct {
		KeyPackage  vectors.Hex `json:"key_package"`
		Welcome     vectors.Hex `json:"welcome"`
		RatchetTree vectors.Hex `json:"ratchet_tree"`
		Epochs      []struct {
			Proposals []vectors.Hex `json:"proposals"`
			Commit    vectors.Hex   `json:"commit"`
		} `json:"epochs"`
	}
	for _, name := range []string{"passive-client-welcome", "passive-client-handling-commit", "passive-client-random"} {
		passive = passive[:0]
		if err := vectors.Load(name, &passive); err != nil {
			if name == "passive-client-random" {
				continue // optional: not every vectors directory has it
			}
			return nil, err
		}
		for _, p := range passive {
			c.mlsMessages = append(c.mlsMessages, p.KeyPackage, p.Welcome)
			if p.RatchetTree != nil {
				c.trees = append(c.trees, p.RatchetTree)
			}
			for _, e := range p.Epochs {
				c.mlsMessages = append(c.mlsMessages, e.Commit)
				c.mlsMessages = append(c.mlsMessages, hexList(e.Proposals)...)
			}
		}
	}

	var validation []struct {
		Tree vectors.Hex `json:"tree"`
	}
	if err := vectors.Load("tree-validation", &validation); err != nil {
		return nil, err
	}
	for _, v := range validation {
		c.trees = append(c.trees, v.Tree)
	}

	var operations []struct {
		TreeBefore vectors.Hex `json:"tree_before"`
		TreeAfter  vectors.Hex `json:"tree_after"`
		Proposal   vectors.Hex `json:"proposal"`
	}
	if err := vectors.Load("tree-operations", &operations); err != nil {
		return nil, err
	}
	for _, o := range operations {
		c.trees = append(c.trees, o.TreeBefore, o.TreeAfter)
		c.proposals = append(c.proposals, o.Proposal)
	}

	var treekem []struct {
		RatchetTree vectors.Hex `json:"ratchet_tree"`
		UpdatePaths []struct {
			UpdatePath vectors.Hex `json:"update_path"`
		} `json:"update_paths"`
	}
	if err := vectors.Load("treekem", &treekem); err != nil {
		return nil, err
	}
	for _, k := range treekem {
		c.trees = append(c.trees, k.RatchetTree)
		for _, u := range k.UpdatePaths {
			c.updatePaths = append(c.updatePaths, u.UpdatePath)
		}
	}
	return c, nil
}

func hexList(hs []vectors.Hex) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		out[i] = h
	}
	return out
}

// TestVectorObjectsRoundTrip decodes every wire object found in the vector
// files and checks that it re-encodes to the same bytes.
func TestVectorObjectsRoundTrip(t *testing.T) {
	c := loadCorpus(t)
	kinds := []struct {
		name  string
		items [][]byte
		dec   func() codecValue
	}{
		{"MLSMessage", c.mlsMessages, func() codecValue { return new(MLSMessage) }},
		{"KeyPackage", c.keyPackages, func() codecValue { return new(KeyPackage) }},
		{"Welcome", c.welcomes, func() codecValue { return new(Welcome) }},
		{"GroupInfo", c.groupInfos, func() codecValue { return new(GroupInfo) }},
		{"RatchetTree", c.trees, func() codecValue { return new(RatchetTree) }},
		{"Proposal", c.proposals, func() codecValue { return new(Proposal) }},
		{"UpdatePath", c.updatePaths, func() codecValue { return new(UpdatePath) }},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			if len(k.items) == 0 {
				t.Fatal("no objects of this kind in the vectors")
			}
			for i, b := range k.items {
				v := k.dec()
				if err := codec.Unmarshal(b, v); err != nil {
					t.Errorf("object %d: decode: %v", i, err)
					continue
				}
				if got := codec.Marshal(v); !bytes.Equal(got, b) {
					t.Errorf("object %d: re-encoding differs", i)
				}
			}
			t.Logf("%d objects round-tripped", len(k.items))
		})
	}
}

// codecValue is a value that can be both encoded and decoded.
type codecValue interface {
	codec.Marshaler
	codec.Unmarshaler
}
