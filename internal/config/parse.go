package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a configuration document.
const MaxFileSize = 1 << 20

// ErrTooLarge is returned for a document larger than [MaxFileSize].
var ErrTooLarge = errors.New("config: file larger than 1 MiB")

// LookupFunc looks up an environment variable, like [os.LookupEnv].
type LookupFunc func(name string) (string, bool)

// Load reads the configuration file at path over [Default]. Errors name the
// file.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a YAML document over [Default], expanding environment
// variables from the process environment. It does not validate: call
// [Config.Validate] after applying any overrides.
func Parse(r io.Reader) (*Config, error) {
	return ParseEnv(r, os.LookupEnv)
}

// ParseEnv is [Parse] with the environment supplied by lookup.
func ParseEnv(r io.Reader, lookup LookupFunc) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, ErrTooLarge
	}
	c := Default()
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return c, nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return c, nil
	}
	w := walker{lookup: lookup, expanded: map[*yaml.Node]bool{}}
	w.walk(root, reflect.TypeOf(*c), "")
	if len(w.errs) > 0 {
		return nil, errors.Join(w.errs...)
	}
	if err := root.Decode(c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := c.renameOldKeys(); err != nil {
		return nil, err
	}
	return c, nil
}

// renameOldKeys moves the values of keys read under their old names to
// the new ones and notes each in c.deprecated.
func (c *Config) renameOldKeys() error {
	if c.Identity == "" {
		return nil
	}
	if c.ClientName != "" && c.ClientName != c.Identity {
		return fmt.Errorf("client_name %q and its old name identity %q disagree: keep client_name only", c.ClientName, c.Identity)
	}
	c.ClientName, c.Identity = c.Identity, ""
	c.deprecated = append(c.deprecated, "identity is now client_name (the MLS client name; the age identity is encryption.identity_file): rename the key")
	return nil
}

// Deprecated describes the keys of the file that were read under an old
// name, for the caller to warn about.
func (c *Config) Deprecated() []string { return c.deprecated }

// walker checks a YAML tree against the schema before it is decoded:
// unknown keys, values of the wrong type and unset environment variables
// become errors naming the line and the key's dotted path. It expands
// environment variables in scalar values in place.
type walker struct {
	lookup   LookupFunc
	expanded map[*yaml.Node]bool
	errs     []error
}

func (w *walker) fail(n *yaml.Node, path, format string, args ...any) {
	w.errs = append(w.errs, fmt.Errorf("line %d: %s: %s", n.Line, path, fmt.Sprintf(format, args...)))
}

var durationType = reflect.TypeOf(time.Duration(0))

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		w.fail(n, nameOr(path), "YAML aliases are not supported")
		return
	}
	switch {
	case t.Kind() == reflect.Struct:
		w.walkStruct(n, t, path)
	case t.Kind() == reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			w.fail(n, path, "want a list")
			return
		}
		for i, item := range n.Content {
			w.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		w.walkScalar(n, t, path)
	}
}

func (w *walker) walkStruct(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, nameOr(path), "want a mapping of keys to values")
		return
	}
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		fields[name] = f
	}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		f, ok := fields[k.Value]
		if k.Kind != yaml.ScalarNode || !ok {
			w.errs = append(w.errs, fmt.Errorf("line %d: unknown key %s", k.Line, key))
			continue
		}
		if f.Type.Kind() == reflect.Struct && isNull(v) {
			// "log:" with nothing under it keeps the defaults.
			continue
		}
		w.walk(v, f.Type, key)
		kept = append(kept, k, v)
	}
	n.Content = kept
}

func (w *walker) walkScalar(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.ScalarNode {
		w.fail(n, path, "want a single value, not a list or mapping")
		return
	}
	if !w.expanded[n] && strings.Contains(n.Value, "$") {
		w.expanded[n] = true
		v, err := expand(n.Value, w.lookup)
		if err != nil {
			w.fail(n, path, "%v", err)
			return
		}
		n.Value = v
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = "" // re-resolve: "${PARTS}" may stand for a number
		}
	}
	if t == durationType && n.ShortTag() == "!!int" && n.Value != "0" {
		w.fail(n, path, "want a duration with a unit, e.g. 30s, 15m or 720h, got %s", shown(path, n.Value))
		return
	}
	probe := reflect.New(t)
	if err := n.Decode(probe.Interface()); err != nil {
		w.fail(n, path, "want %s, got %s", describe(t), shown(path, n.Value))
	}
}

func describe(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 30s, 15m or 720h"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return "a whole number ≥ 0"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "a whole number"
	default:
		return "a " + t.Kind().String()
	}
}

// shown quotes a value for an error message unless it is a secret.
func shown(path, v string) string {
	if isSecret(path) {
		return "<redacted>"
	}
	return fmt.Sprintf("%q", v)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func nameOr(path string) string {
	if path == "" {
		return "document"
	}
	return path
}
