package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// expand replaces $VAR, ${VAR} and ${VAR:-fallback} in s with values from
// lookup; $$ is a literal '$'. An unset variable without a fallback, or a
// malformed reference, is an error naming the variable.
func expand(s string, lookup LookupFunc) (string, error) {
	var errs []error
	out := os.Expand(s, func(ref string) string {
		if ref == "$" {
			return "$"
		}
		name, fallback, hasFallback := strings.Cut(ref, ":-")
		if !validName(name) {
			errs = append(errs, fmt.Errorf("bad environment variable reference ${%s}", ref))
			return ""
		}
		if v, ok := lookup(name); ok && (v != "" || !hasFallback) {
			return v
		}
		if hasFallback {
			return fallback
		}
		errs = append(errs, fmt.Errorf("environment variable %s is not set (write ${%s:-} to allow it to be empty)", name, name))
		return ""
	})
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	if strings.Contains(s, "${") && !balanced(s) {
		return "", errors.New("unterminated ${ in value")
	}
	return out, nil
}

// validName reports whether name is a shell variable name.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// balanced reports whether every "${" outside "$$" has a closing brace.
func balanced(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			continue
		}
		switch s[i+1] {
		case '$':
			i++
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return false
			}
			i += end
		}
	}
	return true
}
