package agent

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/schedule"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// apiError is an error with the HTTP status and code the API answers with.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

// decode reads the JSON body of r into v: application/json only, at most
// maxBody bytes, no unknown fields, nothing after the value. An empty body
// leaves v at its zero value.
func decode(w http.ResponseWriter, r *http.Request, maxBody int64, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: fmt.Sprintf("content type %q: the body must be application/json", r.Header.Get("Content-Type"))}
	}
	if r.ContentLength > maxBody {
		return tooLarge(maxBody)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, maxBody)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(maxBody)
		}
		return badRequest("bad_json", "malformed JSON: data after the request object")
	}
	return nil
}

func tooLarge(maxBody int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large",
		msg: fmt.Sprintf("request body larger than %d bytes (agent.max_body_bytes)", maxBody)}
}

// decodeError classifies a JSON decoding error.
func decodeError(err error, maxBody int64) error {
	var (
		mbe *http.MaxBytesError
		b64 base64.CorruptInputError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(maxBody)
	case errors.As(err, &b64):
		return badRequest("bad_base64", "malformed base64 in a message field at byte %d (messages are standard base64 of the TLS encoding)", int64(b64))
	case errors.As(err, &ute):
		return badRequest("bad_json", "malformed JSON: field %q must be %s", ute.Field, ute.Type)
	case errors.Is(err, io.EOF):
		return badRequest("bad_json", "malformed JSON: empty body")
	default:
		return badRequest("bad_json", "malformed JSON: %v", err)
	}
}

// groupID parses the hex group id of the request path.
func groupID(r *http.Request) ([]byte, error) {
	s := r.PathValue("id")
	id, err := hex.DecodeString(s)
	if err != nil || len(id) == 0 || len(id) > uploader.MaxGroupIDLen {
		return nil, badRequest("bad_group_id", "group id %q is not 1 to %d bytes of hex", s, uploader.MaxGroupIDLen)
	}
	return id, nil
}

// statusOf maps an error to the API's status and code.
func statusOf(err error) (int, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.code
	}
	for _, t := range errorTable() {
		if errors.Is(err, t.err) {
			return t.status, t.code
		}
	}
	// The agent's only network peer is the destination.
	var ne net.Error
	if errors.As(err, &ne) {
		return http.StatusServiceUnavailable, "destination_unreachable"
	}
	return http.StatusInternalServerError, "internal"
}

// ErrorCode returns the code the API answers err with, "internal" when
// it names none of the API's errors. The command line uses the same codes
// in its JSON error objects.
func ErrorCode(err error) string {
	_, code := statusOf(err)
	return code
}

// errorMapping ties a sentinel to the API's status and code.
type errorMapping struct {
	err    error
	status int
	code   string
}

// errorTable lists the sentinels the API maps, most specific first. The
// client maps codes back to the same sentinels.
func errorTable() []errorMapping {
	return []errorMapping{
		{ErrUnknownGroup, http.StatusNotFound, "unknown_group"},
		{ErrUnknownMember, http.StatusNotFound, "unknown_member"},
		{ErrInvalidArgument, http.StatusBadRequest, "invalid_argument"},
		{ErrIdempotencyKeyReused, http.StatusUnprocessableEntity, "idempotency_key_reused"},
		{ErrBadSnapshot, http.StatusUnprocessableEntity, "bad_snapshot"},
		{ErrSnapshotFailed, http.StatusServiceUnavailable, "snapshot_failed"},
		{uploader.ErrAccessDenied, http.StatusServiceUnavailable, "destination_denied"},
		{uploader.ErrNoBucket, http.StatusServiceUnavailable, "destination_missing"},
		{ErrShuttingDown, http.StatusServiceUnavailable, "shutting_down"},
		{schedule.ErrStopped, http.StatusServiceUnavailable, "shutting_down"},
		{localstore.ErrClosed, http.StatusServiceUnavailable, "shutting_down"},
		{localstore.ErrWriteFailed, http.StatusServiceUnavailable, "store_unavailable"},
		{engine.ErrMalformed, http.StatusBadRequest, "malformed_message"},
		{engine.ErrTooLarge, http.StatusRequestEntityTooLarge, "message_too_large"},
		{engine.ErrWrongGroup, http.StatusBadRequest, "wrong_group"},
		{engine.ErrWrongEpoch, http.StatusConflict, "wrong_epoch"},
		{engine.ErrReplay, http.StatusConflict, "replay"},
		{engine.ErrPendingCommit, http.StatusConflict, "pending_commit"},
		{engine.ErrNoPendingCommit, http.StatusConflict, "no_pending_commit"},
		{engine.ErrRestoredEpoch, http.StatusConflict, "restored_epoch"},
		{engine.ErrGroupExists, http.StatusConflict, "group_exists"},
		{engine.ErrClosed, http.StatusConflict, "group_closed"},
		{engine.ErrBadSignature, http.StatusUnprocessableEntity, "bad_signature"},
		{engine.ErrBadMembershipTag, http.StatusUnprocessableEntity, "bad_membership_tag"},
		{engine.ErrBadConfirmationTag, http.StatusUnprocessableEntity, "bad_confirmation_tag"},
		{engine.ErrDecrypt, http.StatusUnprocessableEntity, "decrypt_failed"},
		{engine.ErrNotMember, http.StatusUnprocessableEntity, "not_member"},
		{engine.ErrBadCredential, http.StatusUnprocessableEntity, "bad_credential"},
		{engine.ErrInvalidProposal, http.StatusUnprocessableEntity, "invalid_proposal"},
		{engine.ErrInvalidCommit, http.StatusUnprocessableEntity, "invalid_commit"},
		{engine.ErrInvalidWelcome, http.StatusUnprocessableEntity, "invalid_welcome"},
		{engine.ErrInvalidKeyPackage, http.StatusUnprocessableEntity, "invalid_key_package"},
		{engine.ErrNoKeyPackage, http.StatusUnprocessableEntity, "no_key_package"},
		{engine.ErrUnknownPSK, http.StatusUnprocessableEntity, "unknown_psk"},
		{engine.ErrUnsupported, http.StatusUnprocessableEntity, "unsupported"},
		{engine.ErrCorrupt, http.StatusInternalServerError, "corrupt_state"},
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers with err as {"error", "code"}.
func writeError(w http.ResponseWriter, err error) {
	status, code := statusOf(err)
	writeJSON(w, status, ErrorResponse{Error: err.Error(), Code: code})
}
