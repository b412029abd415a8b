package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// b64Value decodes the value s of flag --name: base64, or @FILE holding it
// (large Welcome messages need not fit on a command line). The file may
// also be the plain output of a group command, "label: B64" lines: the
// line labelled with the flag's name (dashes as underscores) is used, as is
// that field of a --json output object, so "group keypackage > kp" feeds
// "group add --key-package @kp". An empty value decodes to nil.
func b64Value(name, s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if file, ok := strings.CutPrefix(s, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", name, err)
		}
		if s, err = labelled(string(b), strings.ReplaceAll(name, "-", "_")); err != nil {
			return nil, usagef("--%s: %s: %v", name, file, err)
		}
	}
	if s == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, usagef("--%s: not base64: %v", name, err)
	}
	return b, nil
}

// labelled returns text trimmed if it is bare base64 (which has no
// colon), else the value of its "label: value" line, or of the field label
// of a JSON object (the --json output).
func labelled(text, label string) (string, error) {
	text = strings.TrimSpace(text)
	if !strings.Contains(text, ":") {
		return text, nil
	}
	if strings.HasPrefix(text, "{") {
		var fields map[string]any
		if err := json.Unmarshal([]byte(text), &fields); err != nil {
			return "", fmt.Errorf("malformed JSON: %w", err)
		}
		if v, ok := fields[label].(string); ok {
			return v, nil
		}
		return "", fmt.Errorf("JSON has no string field %q", label)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, label+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("neither base64 nor a %q line", label+":")
}
