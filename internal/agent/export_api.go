package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// Headers of GET /v1/groups/{id}/snapshot's answer (the body is the
// snapshot's bytes).
const (
	HeaderSnapshotEpoch         = "Mlsbackup-Epoch"
	HeaderSnapshotAuthenticator = "Mlsbackup-Epoch-Authenticator"
	HeaderSnapshotEncrypted     = "Mlsbackup-Encrypted"
)

func (a *Agent) handleExporter(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, req ExporterRequest) (ExporterResponse, error) {
		return a.Exporter(ctx, id, req)
	})
}

func (a *Agent) handleInspect(w http.ResponseWriter, r *http.Request, id []byte) {
	serve(a, w, r, func(ctx context.Context, _ empty) (InspectReport, error) { return a.Inspect(ctx, id) })
}

// handleExportSnapshot answers with the group's snapshot: age-encrypted to
// the recipients of the query (?recipient=age1…, repeatable), or, without
// any, the plaintext — only over the unix socket, never the TCP listener.
func (a *Agent) handleExportSnapshot(w http.ResponseWriter, r *http.Request, id []byte) {
	var recipients []age.Recipient
	for i, s := range r.URL.Query()["recipient"] {
		rc, err := uploader.ParseRecipient(s)
		if err != nil {
			// Named by position, never quoted: a secret key given by
			// mistake must not come back in the answer (or a log).
			writeError(w, badRequest("invalid_argument", "recipient %d: %v", i+1, err))
			return
		}
		recipients = append(recipients, rc)
	}
	if len(recipients) == 0 && !overUnixSocket(r) {
		writeError(w, &apiError{status: http.StatusForbidden, code: "plaintext_over_tcp",
			msg: "a plaintext snapshot is given only over the unix socket; add ?recipient=age1… to get it encrypted"})
		return
	}
	snap, err := a.ExportSnapshot(r.Context(), id, recipients)
	if err != nil {
		writeError(w, err)
		return
	}
	defer clear(snap.Data)
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(snap.Data)))
	h.Set(HeaderSnapshotEpoch, strconv.FormatUint(snap.Info.Epoch, 10))
	h.Set(HeaderSnapshotAuthenticator, hex.EncodeToString(snap.Info.EpochAuthenticator))
	h.Set(HeaderSnapshotEncrypted, fmt.Sprint(snap.Encrypted))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(snap.Data)
}

// overUnixSocket reports whether r came in on a unix socket listener.
func overUnixSocket(r *http.Request) bool {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return ok && addr.Network() == "unix"
}
