package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/config"
)

// TestBadInput sends malformed requests: each gets a 4xx with a JSON error
// and a code, the agent keeps serving and nothing stored changes.
func TestBadInput(t *testing.T) {
	ctx := ctxT(t)
	ta := newTestAgent(t, agentOpts{identity: "alice", edit: func(c *config.Config) { c.Agent.MaxBodyBytes = 4096 }})
	if _, err := ta.c.Create(ctx, CreateRequest{Name: "g1"}); err != nil {
		t.Fatal(err)
	}
	gpath := "/v1/groups/" + "6731" // hex("g1")
	big := `{"text":"` + strings.Repeat("x", 5000) + `"}`
	garbageMsg := mustJSON(t, ReceiveRequest{Message: []byte("not an MLS message at all")})
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"malformed JSON", "POST", gpath + "/send", "application/json", `{"text": "hi"`, 400, "bad_json"},
		{"not an object", "POST", gpath + "/send", "application/json", `[1,2]`, 400, "bad_json"},
		{"trailing data", "POST", gpath + "/send", "application/json", `{"text":"a"} {"text":"b"}`, 400, "bad_json"},
		{"unknown field", "POST", gpath + "/send", "application/json", `{"txt":"hi"}`, 400, "bad_json"},
		{"wrong field type", "POST", gpath + "/add", "application/json", `{"key_packages":"x"}`, 400, "bad_json"},
		{"wrong content type", "POST", gpath + "/send", "text/plain", `{"text":"hi"}`, 415, "unsupported_media_type"},
		{"no content type", "POST", gpath + "/send", "", `{"text":"hi"}`, 415, "unsupported_media_type"},
		{"oversized body", "POST", gpath + "/send", "application/json", big, 413, "too_large"},
		{"garbage base64", "POST", "/v1/receive", "application/json", `{"message":"!!!not base64!!!"}`, 400, "bad_base64"},
		{"garbage message", "POST", "/v1/receive", "application/json", string(garbageMsg), 400, "malformed_message"},
		{"empty message", "POST", "/v1/receive", "application/json", `{}`, 400, "invalid_argument"},
		{"unknown group", "POST", "/v1/groups/abcd/send", "application/json", `{"text":"hi"}`, 404, "unknown_group"},
		{"unknown group info", "GET", "/v1/groups/abcd", "", "", 404, "unknown_group"},
		{"bad group id", "GET", "/v1/groups/xyz", "", "", 400, "bad_group_id"},
		{"unknown member", "POST", gpath + "/remove", "application/json", `{"members":["mallory"]}`, 404, "unknown_member"},
		{"no members", "POST", gpath + "/remove", "application/json", `{"members":[]}`, 400, "invalid_argument"},
		{"nothing to send", "POST", gpath + "/send", "application/json", `{}`, 400, "invalid_argument"},
		{"garbage key package", "POST", gpath + "/add", "application/json", `{"key_packages":["AAAA"]}`, 400, "malformed_message"},
		{"merge without pending", "POST", gpath + "/merge", "", "", 409, "no_pending_commit"},
		{"clear without pending", "POST", gpath + "/clear", "", "", 409, "no_pending_commit"},
		{"group exists", "POST", "/v1/groups", "application/json", `{"name":"g1"}`, 409, "group_exists"},
		{"garbage welcome", "POST", "/v1/join", "application/json", `{"welcome":"AAEAAw=="}`, 400, "malformed_message"},
		{"garbage snapshot", "POST", "/v1/import", "application/json", `{"snapshot":"AAAA"}`, 422, "bad_snapshot"},
		{"unknown endpoint", "GET", "/v1/nope", "", "", 404, "not_found"},
		{"wrong method", "DELETE", "/v1/groups", "", "", 405, "method_not_allowed"},
		{"wrong method on group", "POST", gpath, "application/json", `{}`, 405, "method_not_allowed"},
		{"get on an action", "GET", gpath + "/send", "", "", 405, "method_not_allowed"},
	}
	before := ta.dump()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ta.raw(tc.method, tc.path, tc.contentType, []byte(tc.body))
			var e ErrorResponse
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q is not a JSON error: %v", body, err)
			}
			if status != tc.status || e.Code != tc.code {
				t.Errorf("got %d %q (%s), want %d %q", status, e.Code, e.Error, tc.status, tc.code)
			}
			if e.Error == "" {
				t.Errorf("empty error message")
			}
			if s, _ := ta.raw("GET", "/healthz", "", nil); s != http.StatusOK {
				t.Fatalf("healthz after bad input = %d", s)
			}
		})
	}
	if after := ta.dump(); !reflect.DeepEqual(before, after) {
		t.Errorf("stored state changed after bad input: %d components before, %d after", len(before), len(after))
		for k, v := range after {
			if !bytes.Equal(before[k], v) {
				t.Errorf("changed: %s", k)
			}
		}
	}
}
