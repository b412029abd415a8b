package interop

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

// Exporter parameters every member derives at every check, as a second
// witness (beside the epoch authenticator) that the key schedules agree.
const (
	exporterLabel  = "mlsbackup interop"
	exporterLength = 32
)

var exporterContext = []byte("ts-mls")

// view is what a member reports about its group.
type view struct {
	Epoch              uint64
	EpochAuthenticator []byte
	Exporter           []byte
	OwnIndex           uint32
	Members            []peerMember
}

// received is what a member made of an incoming message.
type received struct {
	// Kind is "application", "proposal" or "commit".
	Kind string
	// Data is the plaintext of an application message.
	Data []byte
	// Commit is the engine's view of a commit (Go members only).
	Commit *engine.CommitInfo
}

// member is one participant of the scenario, on either side.
type member interface {
	Name() string
	// KeyPackage returns a fresh KeyPackage as an MLSMessage.
	KeyPackage(t testing.TB) []byte
	// Join joins from a Welcome MLSMessage.
	Join(t testing.TB, welcome []byte)
	// Encrypt returns an application message carrying data.
	Encrypt(t testing.TB, data []byte) []byte
	// Process handles an incoming MLSMessage.
	Process(msg []byte) (*received, error)
	// View reports the member's current epoch.
	View(t testing.TB) view
}

// goMember is a member running this repository's engine.
type goMember struct {
	name   string
	id     suite.ID
	opts   engine.Options
	st     *engine.MemStorage
	client *engine.Client
	group  *engine.Group
}

// newGoMember returns an engine member that knows the external PSKs psks
// (id to secret).
func newGoMember(name string, id suite.ID, privateHandshake bool, psks engine.MapPSKStore) *goMember {
	opts := engine.Options{PrivateHandshake: privateHandshake, PSKs: psks}
	st := engine.NewMemStorage()
	return &goMember{name: name, id: id, opts: opts, st: st, client: engine.NewClient(st, []byte(name), opts)}
}

// reload drops the in-memory group and loads it back from storage, as after
// a restart.
func (m *goMember) reload(t testing.TB) {
	t.Helper()
	g, err := engine.LoadGroup(context.Background(), m.st, m.group.GroupID(), m.opts)
	if err != nil {
		t.Fatalf("%s: load group: %v", m.Name(), err)
	}
	m.group = g
}

// restore exports a snapshot of the member's group, imports it into fresh
// storage and continues from there, as after losing the machine. In the
// restored epoch the member can receive but not send.
func (m *goMember) restore(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	groupID := m.group.GroupID()
	snap, _, err := engine.ExportSnapshot(ctx, m.st, groupID)
	if err != nil {
		t.Fatalf("%s: export snapshot: %v", m.Name(), err)
	}
	st := engine.NewMemStorage()
	if _, err := engine.ImportSnapshot(ctx, st, snap, false); err != nil {
		t.Fatalf("%s: import snapshot: %v", m.Name(), err)
	}
	g, err := engine.LoadGroup(ctx, st, groupID, m.opts)
	if err != nil {
		t.Fatalf("%s: load restored group: %v", m.Name(), err)
	}
	m.st, m.group = st, g
	m.client = engine.NewClient(st, []byte(m.name), m.opts)
	if _, err := g.Encrypt(ctx, []byte("too early"), nil); !errors.Is(err, engine.ErrRestoredEpoch) {
		t.Fatalf("%s: encrypt in the restored epoch = %v, want ErrRestoredEpoch", m.Name(), err)
	}
}

func (m *goMember) Name() string { return m.name + " (engine)" }

func (m *goMember) KeyPackage(t testing.TB) []byte {
	t.Helper()
	kp, err := m.client.CreateKeyPackage(context.Background(), m.id, false)
	if err != nil {
		t.Fatalf("%s: key package: %v", m.Name(), err)
	}
	return kp
}

func (m *goMember) Join(t testing.TB, welcome []byte) {
	t.Helper()
	g, err := m.client.JoinFromWelcome(context.Background(), welcome, nil)
	if err != nil {
		t.Fatalf("%s: join from ts-mls Welcome: %v", m.Name(), err)
	}
	m.group = g
}

func (m *goMember) Encrypt(t testing.TB, data []byte) []byte {
	t.Helper()
	msg, err := m.group.Encrypt(context.Background(), data, nil)
	if err != nil {
		t.Fatalf("%s: encrypt: %v", m.Name(), err)
	}
	return msg
}

func (m *goMember) Process(msg []byte) (*received, error) {
	r, err := m.group.Process(context.Background(), msg)
	if err != nil {
		return nil, fmt.Errorf("%s: process: %w", m.Name(), err)
	}
	switch r.Kind {
	case engine.ContentApplication:
		return &received{Kind: "application", Data: r.ApplicationData}, nil
	case engine.ContentProposal:
		return &received{Kind: "proposal"}, nil
	case engine.ContentCommit:
		return &received{Kind: "commit", Commit: r.Commit}, nil
	}
	return nil, fmt.Errorf("%s: process: unknown content kind %d", m.Name(), r.Kind)
}

func (m *goMember) View(t testing.TB) view {
	t.Helper()
	exp, err := m.group.Export(exporterLabel, exporterContext, exporterLength)
	if err != nil {
		t.Fatalf("%s: exporter: %v", m.Name(), err)
	}
	v := view{
		Epoch:              m.group.Epoch(),
		EpochAuthenticator: m.group.EpochAuthenticator(),
		Exporter:           exp,
		OwnIndex:           m.group.OwnIndex(),
	}
	for _, mem := range m.group.Members() {
		v.Members = append(v.Members, peerMember{Index: mem.Index, Identity: mem.Identity})
	}
	return v
}

// commit has the member commit o and merges it at once; it returns the
// commit and Welcome to deliver.
func (m *goMember) commit(t testing.TB, o engine.CommitOptions) (commit, welcome []byte) {
	t.Helper()
	ctx := context.Background()
	out, err := m.group.Commit(ctx, o)
	if err != nil {
		t.Fatalf("%s: commit: %v", m.Name(), err)
	}
	if _, err := m.group.MergePendingCommit(ctx); err != nil {
		t.Fatalf("%s: merge pending commit: %v", m.Name(), err)
	}
	return out.Commit, out.Welcome
}

// tsMember is a member running ts-mls in the peer process.
type tsMember struct {
	name   string
	peer   *peer
	public bool
}

func newTSMember(t testing.TB, p *peer, name string, id suite.ID, privateHandshake bool) *tsMember {
	t.Helper()
	p.must(t, peerRequest{Op: "new_client", Client: name, Suite: uint16(id), Identity: []byte(name)})
	return &tsMember{name: name, peer: p, public: !privateHandshake}
}

func (m *tsMember) Name() string { return m.name + " (ts-mls)" }

func (m *tsMember) KeyPackage(t testing.TB) []byte {
	t.Helper()
	return m.peer.must(t, peerRequest{Op: "key_package", Client: m.name}).KeyPackage
}

func (m *tsMember) Join(t testing.TB, welcome []byte) {
	t.Helper()
	if _, err := m.peer.call(peerRequest{Op: "join", Client: m.name, Welcome: welcome}); err != nil {
		t.Fatalf("join from engine Welcome: %v", err)
	}
}

func (m *tsMember) Encrypt(t testing.TB, data []byte) []byte {
	t.Helper()
	return m.peer.must(t, peerRequest{Op: "encrypt", Client: m.name, Data: data}).Message
}

func (m *tsMember) Process(msg []byte) (*received, error) {
	resp, err := m.peer.call(peerRequest{Op: "process", Client: m.name, Message: msg})
	if err != nil {
		return nil, err
	}
	return &received{Kind: resp.Kind, Data: resp.Data}, nil
}

func (m *tsMember) View(t testing.TB) view {
	t.Helper()
	resp := m.peer.must(t, peerRequest{
		Op: "state", Client: m.name,
		ExporterLabel: exporterLabel, ExporterContext: exporterContext, ExporterLength: exporterLength,
	})
	for i, mem := range resp.Members {
		if len(mem.Certificate) > 0 {
			resp.Members[i].Identity = engine.Credential{Type: engine.CredentialX509, Chain: [][]byte{mem.Certificate}}.Identity()
		}
	}
	return view{
		Epoch:              resp.Epoch,
		EpochAuthenticator: resp.EpochAuthenticator,
		Exporter:           resp.Exporter,
		OwnIndex:           resp.OwnIndex,
		Members:            resp.Members,
	}
}

// createGroup has the member create a group.
func (m *tsMember) createGroup(t testing.TB, groupID []byte) {
	t.Helper()
	m.peer.must(t, peerRequest{Op: "create_group", Client: m.name, GroupID: groupID})
}

// tsCommit is what a ts-mls member commits besides the proposals it has
// received this epoch.
type tsCommit struct {
	add    [][]byte // KeyPackage MLSMessages
	remove []uint32 // leaves
	psk    [][]byte // external PSK ids
}

// commit has the member commit o; ts-mls applies its own commit at once.
// The Welcome carries the ratchet tree.
func (m *tsMember) commit(t testing.TB, o tsCommit) (commit, welcome []byte) {
	t.Helper()
	resp := m.peer.must(t, peerRequest{
		Op: "commit", Client: m.name, Add: o.add, Remove: o.remove, PSK: o.psk,
		Public: m.public, RatchetTree: true,
	})
	return resp.Commit, resp.Welcome
}

// addPSK gives the member an external PSK.
func (m *tsMember) addPSK(t testing.TB, id, secret []byte) {
	t.Helper()
	m.peer.must(t, peerRequest{Op: "add_psk", Client: m.name, PSKID: id, PSKSecret: secret})
}

// groupInfo returns a GroupInfo MLSMessage with external_pub and the tree.
func (m *tsMember) groupInfo(t testing.TB) []byte {
	t.Helper()
	return m.peer.must(t, peerRequest{Op: "group_info", Client: m.name}).GroupInfo
}

// externalJoin joins the group of groupInfo by external commit and returns
// the commit.
func (m *tsMember) externalJoin(t testing.TB, groupInfo []byte) []byte {
	t.Helper()
	resp, err := m.peer.call(peerRequest{Op: "external_join", Client: m.name, GroupInfo: groupInfo})
	if err != nil {
		t.Fatalf("external join from engine GroupInfo: %v", err)
	}
	return resp.Commit
}

// groupInfo returns a GroupInfo MLSMessage with external_pub and the tree.
func (m *goMember) groupInfo(t testing.TB) []byte {
	t.Helper()
	gi, err := m.group.GroupInfo(context.Background(), true)
	if err != nil {
		t.Fatalf("%s: group info: %v", m.Name(), err)
	}
	return gi
}

// externalJoin joins the group of groupInfo by external commit, removing
// resync (its earlier leaf) if not nil, and returns the commit.
func (m *goMember) externalJoin(t testing.TB, groupInfo []byte, resync *uint32) []byte {
	t.Helper()
	g, commit, err := m.client.JoinByExternalCommit(context.Background(), groupInfo, nil, resync)
	if err != nil {
		t.Fatalf("%s: external join from ts-mls GroupInfo: %v", m.Name(), err)
	}
	m.group = g
	return commit
}
