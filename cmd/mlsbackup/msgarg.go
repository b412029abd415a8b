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
// "group add --key-package @kp". For --message a "commit" line or field
// will do too, so that the output of a commit (add, remove, update) feeds
// the other members' "group receive --message @FILE". An empty value
// decodes to nil.
func b64Value(name, s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if file, ok := strings.CutPrefix(s, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", name, err)
		}
		labels := []string{strings.ReplaceAll(name, "-", "_")}
		if name == "message" {
			labels = append(labels, "commit")
		}
		if s, err = labelled(string(b), labels); err != nil {
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
// colon), else the value of its first "label: value" line, or JSON field,
// for the first of labels that it has (the --json output is an object).
func labelled(text string, labels []string) (string, error) {
	text = strings.TrimSpace(text)
	if !strings.Contains(text, ":") {
		return text, nil
	}
	var fields map[string]any
	if strings.HasPrefix(text, "{") {
		if err := json.Unmarshal([]byte(text), &fields); err != nil {
			return "", fmt.Errorf("malformed JSON: %w", err)
		}
	}
	lines := strings.Split(text, "\n")
	for _, label := range labels {
		if fields != nil {
			if v, ok := fields[label].(string); ok {
				return v, nil
			}
			continue
		}
		for _, line := range lines {
			if v, ok := strings.CutPrefix(line, label+":"); ok {
				return strings.TrimSpace(v), nil
			}
		}
	}
	quoted := make([]string, len(labels))
	for i, l := range labels {
		quoted[i] = fmt.Sprintf("%q", l+":")
	}
	if fields != nil {
		return "", fmt.Errorf("JSON has no string field %s", strings.Join(labels, " or "))
	}
	return "", fmt.Errorf("neither base64 nor a %s line", strings.Join(quoted, " or "))
}
