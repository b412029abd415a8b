package agent

// The JSON bodies of the API (see docs/api.md). Byte fields travel as standard
// base64, as encoding/json encodes []byte; group ids and the epoch
// authenticator travel as lower-case hex.

// KeyPackageRequest asks for a new KeyPackage.
type KeyPackageRequest struct {
	// LastResort keeps the KeyPackage after a Welcome used it.
	LastResort bool `json:"last_resort,omitempty"`
	// CipherSuite is the RFC 9420 suite number; 0 means [DefaultCipherSuite].
	CipherSuite uint16 `json:"cipher_suite,omitempty"`
	// Credential is [CredentialBasic] or [CredentialX509]; empty means
	// the configured mls.credential.
	Credential string `json:"credential,omitempty"`
	// CertChain (PEM certificates, own first) and PrivateKey (PEM, of
	// the first certificate) give the x509 credential of this KeyPackage
	// instead of the configured one.
	CertChain  []byte `json:"cert_chain,omitempty"`
	PrivateKey []byte `json:"private_key,omitempty"`
	// IdempotencyKey, if set, is sent as the Idempotency-Key header: a
	// retry with the same key returns the stored answer (see docs/api.md).
	IdempotencyKey string `json:"-"`
}

// KeyPackageResponse carries a KeyPackage (MLSMessage).
type KeyPackageResponse struct {
	KeyPackage []byte `json:"key_package"`
}

// CreateRequest creates a group. Give the id as hex (GroupID) or as text
// (Name, its UTF-8 bytes); neither picks a random id.
type CreateRequest struct {
	GroupID string `json:"group_id,omitempty"`
	Name    string `json:"name,omitempty"`
	// CipherSuite is the RFC 9420 suite number; 0 means [DefaultCipherSuite].
	CipherSuite uint16 `json:"cipher_suite,omitempty"`
	// IdempotencyKey, if set, is sent as the Idempotency-Key header: a
	// retry with the same key returns the stored answer (see docs/api.md).
	IdempotencyKey string `json:"-"`
}

// AddRequest commits adding members.
type AddRequest struct {
	KeyPackages [][]byte `json:"key_packages"`
	NoMerge     bool     `json:"no_merge,omitempty"`
	// NoRatchetTree leaves the ratchet tree out of the Welcome; the
	// answer carries it for delivery out of band.
	NoRatchetTree bool `json:"no_ratchet_tree,omitempty"`
	// IdempotencyKey, if set, is sent as the Idempotency-Key header: a
	// retry with the same key returns the stored answer (see docs/api.md).
	IdempotencyKey string `json:"-"`
}

// RemoveRequest commits removing members: by identity (Members) or by leaf
// index (Leaves). An identity holding several leaves is refused unless
// AllLeaves.
type RemoveRequest struct {
	Members   []string `json:"members,omitempty"`
	Leaves    []uint32 `json:"leaves,omitempty"`
	AllLeaves bool     `json:"all_leaves,omitempty"`
	NoMerge   bool     `json:"no_merge,omitempty"`
	// IdempotencyKey, if set, is sent as the Idempotency-Key header: a
	// retry with the same key returns the stored answer (see docs/api.md).
	IdempotencyKey string `json:"-"`
}

// UpdateRequest commits a self-update.
type UpdateRequest struct {
	NoMerge bool `json:"no_merge,omitempty"`
	// IdempotencyKey, if set, is sent as the Idempotency-Key header: a
	// retry with the same key returns the stored answer (see docs/api.md).
	IdempotencyKey string `json:"-"`
}

// CommitResponse is what a commit the API created produced.
type CommitResponse struct {
	GroupID string `json:"group_id"`
	// Commit is the MLSMessage to deliver to the group's members.
	Commit []byte `json:"commit"`
	// Welcome is the MLSMessage for added members (omitted if none).
	Welcome []byte `json:"welcome,omitempty"`
	// RatchetTree is the encoded ratchet tree the Welcome leaves out
	// (no_ratchet_tree); deliver it to the new members with the Welcome.
	RatchetTree []byte `json:"ratchet_tree,omitempty"`
	// Epoch is the epoch the commit leads to.
	Epoch uint64 `json:"epoch"`
	// Merged says whether the commit was merged (the group is in Epoch);
	// false with no_merge: it is pending until merge or clear.
	Merged bool `json:"merged"`
}

// SendRequest encrypts application data: Data (base64) or Text.
type SendRequest struct {
	Data              []byte `json:"data,omitempty"`
	Text              string `json:"text,omitempty"`
	AuthenticatedData []byte `json:"authenticated_data,omitempty"`
	// IdempotencyKey, if set, is sent as the Idempotency-Key header: a
	// retry with the same key returns the stored answer (see docs/api.md).
	IdempotencyKey string `json:"-"`
}

// SendResponse carries the PrivateMessage.
type SendResponse struct {
	GroupID string `json:"group_id"`
	Epoch   uint64 `json:"epoch"`
	Message []byte `json:"message"`
}

// ReceiveRequest carries any incoming MLSMessage: a PublicMessage or
// PrivateMessage of a group, or a Welcome (then RatchetTree may carry the
// tree out of band).
type ReceiveRequest struct {
	Message     []byte `json:"message"`
	RatchetTree []byte `json:"ratchet_tree,omitempty"`
}

// ReceiveResponse says what an incoming message carried.
type ReceiveResponse struct {
	GroupID string `json:"group_id"`
	// Kind is "application", "proposal", "commit" or "welcome".
	Kind string `json:"kind"`
	// Epoch is the epoch the message belonged to (for a commit or a
	// Welcome: the group's epoch now).
	Epoch uint64 `json:"epoch"`
	// Sender is the sender's leaf index (or external sender index).
	Sender uint32 `json:"sender"`
	// SenderIdentity is the sending member's identity, if known, shown
	// as [Member].Identity is.
	SenderIdentity string `json:"sender_identity,omitempty"`
	// Data is the plaintext of an application message.
	Data []byte `json:"data,omitempty"`
	// AuthenticatedData is the message's authenticated data.
	AuthenticatedData []byte `json:"authenticated_data,omitempty"`
	// Commit describes an applied commit.
	Commit *CommitSummary `json:"commit,omitempty"`
}

// CommitSummary is the membership change of an applied commit.
type CommitSummary struct {
	Epoch       uint64   `json:"epoch"`
	Added       []Member `json:"added,omitempty"`
	Removed     []Member `json:"removed,omitempty"`
	Committer   uint32   `json:"committer"`
	SelfRemoved bool     `json:"self_removed,omitempty"`
}

// JoinRequest joins from a Welcome (with the tree out of band if the
// Welcome lacks it).
type JoinRequest struct {
	Welcome     []byte `json:"welcome"`
	RatchetTree []byte `json:"ratchet_tree,omitempty"`
}

// ExternalJoinRequest joins by external commit from a GroupInfo.
type ExternalJoinRequest struct {
	GroupInfo   []byte `json:"group_info"`
	RatchetTree []byte `json:"ratchet_tree,omitempty"`
	// ResyncLeaf removes this leaf (this client's lost membership).
	ResyncLeaf *uint32 `json:"resync_leaf,omitempty"`
	// IdempotencyKey, if set, is sent as the Idempotency-Key header: a
	// retry with the same key returns the stored answer (see docs/api.md).
	IdempotencyKey string `json:"-"`
}

// ExternalJoinResponse is the joined group and the commit to deliver.
type ExternalJoinResponse struct {
	Group  GroupInfo `json:"group"`
	Commit []byte    `json:"commit"`
}

// GroupInfoResponse carries a signed GroupInfo (MLSMessage) for external
// joiners.
type GroupInfoResponse struct {
	GroupInfo []byte `json:"group_info"`
	// RatchetTree is the encoded ratchet tree when the GroupInfo leaves
	// it out; the joiner needs it out of band.
	RatchetTree []byte `json:"ratchet_tree,omitempty"`
}

// Member is one member of a group.
type Member struct {
	Index uint32 `json:"index"`
	// Identity is what the member's credential names (basic: its
	// identity; x509: the certificate's first URI, DNS or e-mail subject
	// alternative name, else its subject): the text when printable
	// UTF-8, else "hex:" and the bytes in hex.
	Identity string `json:"identity"`
	// CredentialType is "basic" or "x509".
	CredentialType string `json:"credential_type,omitempty"`
}

// GroupInfo describes one group as this member sees it.
type GroupInfo struct {
	GroupID            string      `json:"group_id"`
	Epoch              uint64      `json:"epoch"`
	CipherSuite        uint16      `json:"cipher_suite"`
	OwnIndex           uint32      `json:"own_index"`
	Members            []Member    `json:"members"`
	EpochAuthenticator string      `json:"epoch_authenticator"`
	PendingCommit      bool        `json:"pending_commit"`
	Restored           bool        `json:"restored"`
	LastUpload         *UploadInfo `json:"last_upload,omitempty"`
}

// GroupSummary is one line of the group list.
type GroupSummary struct {
	GroupID string `json:"group_id"`
	Epoch   uint64 `json:"epoch"`
	Members int    `json:"members"`
}

// GroupList is the group list.
type GroupList struct {
	Groups []GroupSummary `json:"groups"`
}

// SnapshotResponse is the epoch a requested snapshot uploaded.
type SnapshotResponse struct {
	GroupID string `json:"group_id"`
	Epoch   uint64 `json:"epoch"`
}

// ImportRequest imports a verified GroupSnapshot (restore).
type ImportRequest struct {
	Snapshot []byte `json:"snapshot"`
	Replace  bool   `json:"replace,omitempty"`
}

// ImportResponse describes the imported snapshot.
type ImportResponse struct {
	GroupID            string `json:"group_id"`
	Epoch              uint64 `json:"epoch"`
	CipherSuite        uint16 `json:"cipher_suite"`
	EpochAuthenticator string `json:"epoch_authenticator"`
	Components         int    `json:"components"`
	Size               int    `json:"size"`
	SHA256             string `json:"sha256"`
}

// Status describes the running agent.
type Status struct {
	Identity      string         `json:"identity"`
	DataDir       string         `json:"data_dir"`
	Socket        string         `json:"socket"`
	Destination   string         `json:"destination"`
	Started       string         `json:"started"`
	UptimeSeconds float64        `json:"uptime_seconds"`
	Groups        int            `json:"groups"`
	GroupsLoaded  int            `json:"groups_loaded"`
	Uploaded      int            `json:"groups_uploaded"`
	EveryEpochs   uint64         `json:"every_epochs"`
	Cron          string         `json:"cron,omitempty"`
	BeforeRemove  bool           `json:"before_remove"`
	Recovery      RecoveryStatus `json:"recovery"`
}

// RecoveryStatus is what recovery did at start.
type RecoveryStatus struct {
	Replayed      int  `json:"replayed"`
	Dropped       int  `json:"dropped"`
	PendingInputs int  `json:"pending_inputs"`
	TornTail      bool `json:"torn_tail"`
}

// ErrorResponse is the body of every 4xx and 5xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func (r KeyPackageRequest) idempotencyKey() string { return r.IdempotencyKey }

func (r CreateRequest) idempotencyKey() string { return r.IdempotencyKey }

func (r AddRequest) idempotencyKey() string { return r.IdempotencyKey }

func (r RemoveRequest) idempotencyKey() string { return r.IdempotencyKey }

func (r UpdateRequest) idempotencyKey() string { return r.IdempotencyKey }

func (r SendRequest) idempotencyKey() string { return r.IdempotencyKey }

func (r ExternalJoinRequest) idempotencyKey() string { return r.IdempotencyKey }
