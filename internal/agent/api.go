package agent

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/mlsbackup/mlsbackup/internal/config"
)

// Handler returns the API's HTTP handler (without authentication; the TCP
// listener wraps it with the bearer-token check). docs/api.md documents it.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		a.serveHealthz(w, r)
	})
	mux.Handle("GET /metrics", a.metrics.handler())
	mux.HandleFunc("GET /v1/status", a.handleStatus)
	mux.HandleFunc("POST /v1/key-packages", a.handleKeyPackage)
	mux.HandleFunc("GET /v1/groups", a.handleList)
	mux.HandleFunc("POST /v1/groups", a.handleCreate)
	mux.HandleFunc("GET /v1/groups/{id}", withID(a.handleInfo))
	mux.HandleFunc("GET /v1/groups/{id}/group-info", withID(a.handleGroupInfo))
	mux.HandleFunc("POST /v1/groups/{id}/add", withID(a.handleAdd))
	mux.HandleFunc("POST /v1/groups/{id}/remove", withID(a.handleRemove))
	mux.HandleFunc("POST /v1/groups/{id}/update", withID(a.handleUpdate))
	mux.HandleFunc("POST /v1/groups/{id}/merge", withID(a.handleMerge))
	mux.HandleFunc("POST /v1/groups/{id}/clear", withID(a.handleClear))
	mux.HandleFunc("POST /v1/groups/{id}/send", withID(a.handleSend))
	mux.HandleFunc("POST /v1/groups/{id}/snapshot", withID(a.handleSnapshot))
	mux.HandleFunc("GET /v1/groups/{id}/snapshot", withID(a.handleExportSnapshot))
	mux.HandleFunc("GET /v1/groups/{id}/inspect", withID(a.handleInspect))
	mux.HandleFunc("POST /v1/groups/{id}/exporter", withID(a.handleExporter))
	mux.HandleFunc("POST /v1/receive", a.handleReceive)
	mux.HandleFunc("POST /v1/join", a.handleJoin)
	mux.HandleFunc("POST /v1/join/external", a.handleJoinExternal)
	mux.HandleFunc("POST /v1/import", a.handleImport)
	mux.HandleFunc("GET /v1/outbox", a.handleOutbox)
	mux.HandleFunc("POST /v1/outbox/ack", a.handleOutboxAck)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{Error: "method " + r.Method + " not allowed for " + r.URL.Path +
				"; use " + strings.Join(allow, " or ") + " (see docs/api.md)", Code: "method_not_allowed"})
			return
		}
		writeJSON(w, http.StatusNotFound, ErrorResponse{Error: "no such endpoint: " + r.Method + " " + r.URL.Path + " (see docs/api.md)", Code: "not_found"})
	})
	return a.observe(mux)
}

// allowedMethods returns the methods for which mux has an endpoint at r's
// path (other than the catch-all), for a 405 answer.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// observe counts requests by status code and logs them at debug level
// (method, path and status only: bodies may hold secrets' ciphertexts).
func (a *Agent) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		a.metrics.requests.WithLabelValues(http.StatusText(rec.status)).Inc()
		a.log.Debug("api request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// withID parses the group id of the path before calling h.
func withID(h func(w http.ResponseWriter, r *http.Request, id []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := groupID(r)
		if err != nil {
			writeError(w, err)
			return
		}
		h(w, r, id)
	}
}

func (a *Agent) maxBody() int64 { return a.Config().Agent.MaxBodyBytes }

// serve decodes the request into req (unless nil), runs op and answers.
func serve[Req any, Resp any](a *Agent, w http.ResponseWriter, r *http.Request, op func(ctx context.Context, req Req) (Resp, error)) {
	serveLimit(a.maxBody(), w, r, op)
}

// serveLimit is serve with a body limit of its own.
func serveLimit[Req any, Resp any](limit int64, w http.ResponseWriter, r *http.Request, op func(ctx context.Context, req Req) (Resp, error)) {
	var req Req
	if err := decode(w, r, limit, &req); err != nil {
		writeError(w, err)
		return
	}
	resp, err := op(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// empty is the body of requests without fields.
type empty struct{}

func (a *Agent) handleStatus(w http.ResponseWriter, r *http.Request) {
	serve(a, w, r, func(ctx context.Context, _ empty) (Status, error) { return a.Status(ctx) })
}

func (a *Agent) handleKeyPackage(w http.ResponseWriter, r *http.Request) {
	serve(a, w, r, func(ctx context.Context, req KeyPackageRequest) (KeyPackageResponse, error) {
		kp, err := a.KeyPackage(ctx, idempotencyKey(r), req)
		return KeyPackageResponse{KeyPackage: kp}, err
	})
}

func (a *Agent) handleList(w http.ResponseWriter, r *http.Request) {
	serve(a, w, r, func(ctx context.Context, _ empty) (GroupList, error) { return a.List(ctx) })
}

func (a *Agent) handleCreate(w http.ResponseWriter, r *http.Request) {
	serve(a, w, r, func(ctx context.Context, req CreateRequest) (GroupInfo, error) {
		var id []byte
		switch {
		case req.GroupID != "" && req.Name != "":
			return GroupInfo{}, badRequest("invalid_argument", "give group_id or name, not both")
		case req.GroupID != "":
			var err error
			if id, err = hex.DecodeString(req.GroupID); err != nil || len(id) > maxGroupID {
				return GroupInfo{}, badRequest("bad_group_id", "group_id %q is not 1 to %d bytes of hex", req.GroupID, maxGroupID)
			}
		case req.Name != "":
			if id = []byte(req.Name); len(id) > maxGroupID {
				return GroupInfo{}, badRequest("bad_group_id", "name is longer than %d bytes", maxGroupID)
			}
		}
		return a.Create(ctx, idempotencyKey(r), id, req.CipherSuite)
	})
}

func (a *Agent) handleInfo(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, _ empty) (GroupInfo, error) { return a.Info(ctx, id) })
}

func (a *Agent) handleGroupInfo(w http.ResponseWriter, r *http.Request, id []byte) {
	withTree := r.URL.Query().Get("tree") != "false"
	serve(a, w, r, func(ctx context.Context, _ empty) (GroupInfoResponse, error) {
		return a.GroupInfoMessage(ctx, id, withTree)
	})
}

func (a *Agent) handleAdd(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, req AddRequest) (CommitResponse, error) {
		return a.Add(ctx, idempotencyKey(r), id, req.KeyPackages, req.NoMerge, req.NoRatchetTree)
	})
}

func (a *Agent) handleRemove(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, req RemoveRequest) (CommitResponse, error) {
		return a.Remove(ctx, idempotencyKey(r), id, req)
	})
}

func (a *Agent) handleUpdate(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, req UpdateRequest) (CommitResponse, error) {
		return a.Update(ctx, idempotencyKey(r), id, req.NoMerge)
	})
}

func (a *Agent) handleMerge(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, _ empty) (GroupInfo, error) { return a.Merge(ctx, id) })
}

func (a *Agent) handleClear(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, _ empty) (GroupInfo, error) { return a.Clear(ctx, id) })
}

func (a *Agent) handleSend(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, req SendRequest) (SendResponse, error) {
		data := req.Data
		switch {
		case req.Data != nil && req.Text != "":
			return SendResponse{}, badRequest("invalid_argument", "give data or text, not both")
		case req.Text != "":
			data = []byte(req.Text)
		case req.Data == nil:
			return SendResponse{}, badRequest("invalid_argument", "nothing to send: give data (base64) or text")
		}
		return a.Send(ctx, idempotencyKey(r), id, data, req.AuthenticatedData)
	})
}

func (a *Agent) handleSnapshot(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, _ empty) (SnapshotResponse, error) {
		epoch, err := a.SnapshotNow(ctx, id)
		return SnapshotResponse{GroupID: hex.EncodeToString(id), Epoch: epoch}, err
	})
}

func (a *Agent) handleReceive(w http.ResponseWriter, r *http.Request) {
	serve(a, w, r, func(ctx context.Context, req ReceiveRequest) (ReceiveResponse, error) {
		if len(req.Message) == 0 {
			return ReceiveResponse{}, badRequest("invalid_argument", "message is required")
		}
		return a.Receive(ctx, req.Message, req.RatchetTree)
	})
}

func (a *Agent) handleJoin(w http.ResponseWriter, r *http.Request) {
	serve(a, w, r, func(ctx context.Context, req JoinRequest) (GroupInfo, error) {
		if len(req.Welcome) == 0 {
			return GroupInfo{}, badRequest("invalid_argument", "welcome is required")
		}
		return a.Join(ctx, req.Welcome, req.RatchetTree)
	})
}

func (a *Agent) handleJoinExternal(w http.ResponseWriter, r *http.Request) {
	serve(a, w, r, func(ctx context.Context, req ExternalJoinRequest) (ExternalJoinResponse, error) {
		if len(req.GroupInfo) == 0 {
			return ExternalJoinResponse{}, badRequest("invalid_argument", "group_info is required")
		}
		return a.JoinExternal(ctx, idempotencyKey(r), req.GroupInfo, req.RatchetTree, req.ResyncLeaf)
	})
}

func (a *Agent) handleImport(w http.ResponseWriter, r *http.Request) {
	// A snapshot may be larger than a message: allow the configuration's
	// ceiling for bodies.
	serveLimit(max(a.maxBody(), config.MaxBodyBytes), w, r, func(ctx context.Context, req ImportRequest) (ImportResponse, error) {
		if len(req.Snapshot) == 0 {
			return ImportResponse{}, badRequest("invalid_argument", "snapshot is required")
		}
		info, err := a.Import(ctx, req.Snapshot, req.Replace)
		if err != nil {
			return ImportResponse{}, err
		}
		return ImportResponse{GroupID: hex.EncodeToString(info.GroupID), Epoch: info.Epoch, CipherSuite: info.CipherSuite,
			EpochAuthenticator: hex.EncodeToString(info.EpochAuthenticator), Components: info.Components,
			Size: info.Size, SHA256: hex.EncodeToString(info.SHA256)}, nil
	})
}
