package agent

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/localstore"
)

// ErrNoAgent means no agent answers on the socket.
var ErrNoAgent = errors.New("agent: no agent is running")

// APIError is an error answer of the agent. It unwraps to the sentinel its
// code stands for (ErrUnknownGroup, engine.ErrWrongEpoch, ...), if any.
type APIError struct {
	Status  int    // HTTP status
	Code    string // machine-readable code, see docs/api.md
	Message string // the agent's message
}

// Error implements error.
func (e *APIError) Error() string { return e.Message + " [" + e.Code + "]" }

// Unwrap returns the sentinel of the code, or nil.
func (e *APIError) Unwrap() error {
	for _, t := range errorTable() {
		if t.code == e.Code {
			return t.err
		}
	}
	return nil
}

// Client talks to a running agent's API. It is safe for concurrent use.
type Client struct {
	http  *http.Client
	base  string
	token string
}

// Dial connects to the agent serving on the unix socket socketPath and
// checks that it answers (GET /healthz). It fails with an error wrapping
// ErrNoAgent if none does.
func Dial(socketPath string) (*Client, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		MaxIdleConns:    4,
		IdleConnTimeout: 30 * time.Second,
	}
	c := &Client{http: &http.Client{Transport: tr}, base: "http://agent"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Health(ctx); !answering(err) {
		return nil, fmt.Errorf("dial %s: %w: %w", socketPath, ErrNoAgent, err)
	}
	return c, nil
}

// DialTCP connects to an agent's TCP listener at addr (host:port) with the
// bearer token.
func DialTCP(addr, token string) (*Client, error) {
	c := &Client{http: &http.Client{}, base: "http://" + addr, token: token}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Health(ctx); !answering(err) {
		return nil, fmt.Errorf("dial %s: %w: %w", addr, ErrNoAgent, err)
	}
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// do sends a request with body req (nil: none) and decodes the answer into
// resp (nil: discard).
func (c *Client) do(ctx context.Context, method, path string, req, resp any) error {
	data, _, err := c.roundTrip(ctx, method, path, req)
	if err != nil || resp == nil {
		return err
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// roundTrip sends a request with body req (nil: none) and returns the
// body and headers of a 200 answer, or the error answer as an *APIError.
func (c *Client) roundTrip(ctx context.Context, method, path string, req any) ([]byte, http.Header, error) {
	var body io.Reader
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return nil, nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	r, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if req != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if k, ok := req.(interface{ idempotencyKey() string }); ok && k.idempotencyKey() != "" {
		r.Header.Set(IdempotencyHeader, k.idempotencyKey())
	}
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode != http.StatusOK {
		var e ErrorResponse
		if json.Unmarshal(data, &e) != nil || e.Code == "" {
			e = ErrorResponse{Error: fmt.Sprintf("%s %s: HTTP %d: %s", method, path, res.StatusCode, bytes.TrimSpace(data)), Code: "http"}
			if h, ok := unavailable(data); ok {
				e = ErrorResponse{Error: h.Reason, Code: "store_unavailable"}
			}
		}
		return nil, nil, &APIError{Status: res.StatusCode, Code: e.Code, Message: e.Error}
	}
	return data, res.Header, nil
}

func groupPath(id []byte, op string) string {
	p := "/v1/groups/" + hex.EncodeToString(id)
	if op != "" {
		p += "/" + op
	}
	return p
}

// Health checks that the agent answers and that its local store can
// write. While it cannot (a full disk), Health returns an *APIError with
// status 503 and code "store_unavailable" (errors.Is
// localstore.ErrWriteFailed) whose message is the agent's reason.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil)
}

// unavailable decodes the 503 answer of GET /healthz.
func unavailable(data []byte) (HealthResponse, bool) {
	var h HealthResponse
	return h, json.Unmarshal(data, &h) == nil && h.Status == "unavailable"
}

// answering reports whether a failed health check still found an agent:
// one whose store cannot write answers, and can say why on its requests.
func answering(err error) bool {
	return err == nil || errors.Is(err, localstore.ErrWriteFailed)
}

// Status describes the agent.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
	return s, err
}

// Metrics returns the Prometheus text exposition.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(r)
	if err != nil {
		return "", fmt.Errorf("GET /metrics: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", fmt.Errorf("GET /metrics: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: HTTP %d", res.StatusCode)
	}
	return string(b), nil
}

// KeyPackage creates a KeyPackage (an MLSMessage).
func (c *Client) KeyPackage(ctx context.Context, req KeyPackageRequest) ([]byte, error) {
	var r KeyPackageResponse
	err := c.do(ctx, http.MethodPost, "/v1/key-packages", req, &r)
	return r.KeyPackage, err
}

// Create creates a group.
func (c *Client) Create(ctx context.Context, req CreateRequest) (GroupInfo, error) {
	var r GroupInfo
	err := c.do(ctx, http.MethodPost, "/v1/groups", req, &r)
	return r, err
}

// List lists the agent's groups.
func (c *Client) List(ctx context.Context) (GroupList, error) {
	var r GroupList
	err := c.do(ctx, http.MethodGet, "/v1/groups", nil, &r)
	return r, err
}

// Info describes a group.
func (c *Client) Info(ctx context.Context, id []byte) (GroupInfo, error) {
	var r GroupInfo
	err := c.do(ctx, http.MethodGet, groupPath(id, ""), nil, &r)
	return r, err
}

// GroupInfo returns a signed GroupInfo of the group for external joiners.
func (c *Client) GroupInfo(ctx context.Context, id []byte, withTree bool) ([]byte, error) {
	r, err := c.GroupInfoAndTree(ctx, id, withTree)
	return r.GroupInfo, err
}

// GroupInfoAndTree returns a signed GroupInfo (MLSMessage) and, without
// withTree, the ratchet tree beside it instead of in it.
func (c *Client) GroupInfoAndTree(ctx context.Context, id []byte, withTree bool) (GroupInfoResponse, error) {
	var r GroupInfoResponse
	err := c.do(ctx, http.MethodGet, groupPath(id, "group-info")+"?tree="+url.QueryEscape(fmt.Sprint(withTree)), nil, &r)
	return r, err
}

// Add commits adding members.
func (c *Client) Add(ctx context.Context, id []byte, req AddRequest) (CommitResponse, error) {
	var r CommitResponse
	err := c.do(ctx, http.MethodPost, groupPath(id, "add"), req, &r)
	return r, err
}

// Remove commits removing members by identity.
func (c *Client) Remove(ctx context.Context, id []byte, req RemoveRequest) (CommitResponse, error) {
	var r CommitResponse
	err := c.do(ctx, http.MethodPost, groupPath(id, "remove"), req, &r)
	return r, err
}

// Update commits a self-update.
func (c *Client) Update(ctx context.Context, id []byte, req UpdateRequest) (CommitResponse, error) {
	var r CommitResponse
	err := c.do(ctx, http.MethodPost, groupPath(id, "update"), req, &r)
	return r, err
}

// Merge merges the pending commit.
func (c *Client) Merge(ctx context.Context, id []byte) (GroupInfo, error) {
	var r GroupInfo
	err := c.do(ctx, http.MethodPost, groupPath(id, "merge"), nil, &r)
	return r, err
}

// Clear discards the pending commit.
func (c *Client) Clear(ctx context.Context, id []byte) (GroupInfo, error) {
	var r GroupInfo
	err := c.do(ctx, http.MethodPost, groupPath(id, "clear"), nil, &r)
	return r, err
}

// Send encrypts an application message.
func (c *Client) Send(ctx context.Context, id []byte, req SendRequest) (SendResponse, error) {
	var r SendResponse
	err := c.do(ctx, http.MethodPost, groupPath(id, "send"), req, &r)
	return r, err
}

// Receive processes an incoming message (or a Welcome).
func (c *Client) Receive(ctx context.Context, req ReceiveRequest) (ReceiveResponse, error) {
	var r ReceiveResponse
	err := c.do(ctx, http.MethodPost, "/v1/receive", req, &r)
	return r, err
}

// Join joins from a Welcome.
func (c *Client) Join(ctx context.Context, req JoinRequest) (GroupInfo, error) {
	var r GroupInfo
	err := c.do(ctx, http.MethodPost, "/v1/join", req, &r)
	return r, err
}

// JoinExternal joins by external commit.
func (c *Client) JoinExternal(ctx context.Context, req ExternalJoinRequest) (ExternalJoinResponse, error) {
	var r ExternalJoinResponse
	err := c.do(ctx, http.MethodPost, "/v1/join/external", req, &r)
	return r, err
}

// Outbox lists up to limit (0: the agent's default) unacknowledged answers
// after the entry named after ("" for the oldest), oldest first.
func (c *Client) Outbox(ctx context.Context, after string, limit int) (OutboxList, error) {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	path := "/v1/outbox"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var r OutboxList
	err := c.do(ctx, http.MethodGet, path, nil, &r)
	return r, err
}

// AckOutbox acknowledges outbox entries: the agent forgets them.
func (c *Client) AckOutbox(ctx context.Context, ids ...string) (AckResponse, error) {
	var r AckResponse
	err := c.do(ctx, http.MethodPost, "/v1/outbox/ack", AckRequest{IDs: ids}, &r)
	return r, err
}

// Snapshot snapshots and uploads a group now; it returns the epoch uploaded.
func (c *Client) Snapshot(ctx context.Context, id []byte) (uint64, error) {
	var r SnapshotResponse
	err := c.do(ctx, http.MethodPost, groupPath(id, "snapshot"), nil, &r)
	return r.Epoch, err
}

// LocalEpoch reports the group's epoch in the agent; ok is false if the
// agent does not hold the group. (With Import, Client serves restore as
// its target when an agent holds the data directory.)
func (c *Client) LocalEpoch(ctx context.Context, group []byte) (uint64, bool, error) {
	info, err := c.Info(ctx, group)
	if errors.Is(err, ErrUnknownGroup) {
		return 0, false, nil
	}
	if err != nil {
		return 0, true, err
	}
	return info.Epoch, true, nil
}

// Import stores a verified snapshot in the agent as its group's state,
// replacing a stored group only if replace (else an error wrapping
// engine.ErrGroupExists).
func (c *Client) Import(ctx context.Context, snapshot []byte, replace bool) (engine.SnapshotInfo, error) {
	var r ImportResponse
	if err := c.do(ctx, http.MethodPost, "/v1/import", ImportRequest{Snapshot: snapshot, Replace: replace}, &r); err != nil {
		return engine.SnapshotInfo{}, err
	}
	gid, err1 := hex.DecodeString(r.GroupID)
	ea, err2 := hex.DecodeString(r.EpochAuthenticator)
	sum, err3 := hex.DecodeString(r.SHA256)
	if err := errors.Join(err1, err2, err3); err != nil {
		return engine.SnapshotInfo{}, fmt.Errorf("import: decode answer: %w", err)
	}
	return engine.SnapshotInfo{GroupID: gid, Epoch: r.Epoch, CipherSuite: r.CipherSuite, EpochAuthenticator: ea,
		Components: r.Components, Size: r.Size, SHA256: sum}, nil
}
