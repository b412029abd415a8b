package suite

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The design rule (DESIGN.md, "Cryptography comes only from vetted
// libraries"): the engine calls signature schemes, KEMs, HPKE, KDFs and
// AEADs and never works on field elements, points or scalars itself.

// fieldAndPointPackages are import paths (and their sub-packages) that
// offer curve-element arithmetic rather than a finished scheme. No file of
// the engine, test or not, imports them.
var fieldAndPointPackages = []string{
	"filippo.io/edwards25519",
	"filippo.io/nistec",
	"github.com/cloudflare/circl/math",
	"github.com/cloudflare/circl/ecc",
	"github.com/cloudflare/circl/group",
}

// bigNumberPackages are what arithmetic written here would need; the
// non-test files of this package do not import them (tests may, to encode
// vectors).
var bigNumberPackages = []string{"math/big", "math/bits", "unsafe"}

// importsAny returns the imports of f that are one of pkgs or under one.
func importsAny(f *ast.File, pkgs []string) []string {
	var out []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		for _, bad := range pkgs {
			if p == bad || strings.HasPrefix(p, bad+"/") {
				out = append(out, p)
			}
		}
	}
	return out
}

// suiteFiles are the non-test files of this package and what each does.
// A new file must be added here, where its review starts.
var suiteFiles = map[string]string{
	"aead.go":              "AES-GCM and ChaCha20-Poly1305 from crypto/cipher and x/crypto",
	"certkeys.go":          "signature keys parsed by crypto/x509, re-encoded with their own methods",
	"fips.go":              "which suites FIPS 140-only mode allows; the MLS AES-GCM nonces",
	"hpke.go":              "the HPKE API of a Suite and the EncryptContext label",
	"hpke_circl.go":        "HPKE with DHKEM(X25519) and DHKEM(X448) from circl/hpke",
	"hpke_std.go":          "HPKE with the NIST DHKEMs from crypto/hpke",
	"kdf.go":               "hash, HMAC and HKDF from the standard library, MLS labels",
	"registry.go":          "one Suite per cipher suite for a process",
	"signature.go":         "SignWithLabel and VerifyWithLabel",
	"signature_schemes.go": "Ed25519, ECDSA and Ed448 from crypto/ed25519, crypto/ecdsa and circl",
	"suite.go":             "the suites of RFC 9420 §17.1",
	"verify_cache.go":      "the bounded cache of successful signature verifications",
}

// arithmeticNames are methods and functions of curve-arithmetic APIs.
var arithmeticNames = []string{
	"ScalarMult", "ScalarBaseMult", "MultiScalarMult", "VarTimeDoubleScalarBaseMult",
	"VarTimeMultiScalarMult", "Double", "IsOnCurve", "Invert", "Sqrt", "SetBytesWithClamping",
	"SetUniformBytes", "SetCanonicalBytes", "BytesMontgomery",
}

// TestEngineImportsNoCurveArithmetic fails if any file of the engine (every
// package under engine/, tests included) imports a field-, point- or
// scalar-level package.
func TestEngineImportsNoCurveArithmetic(t *testing.T) {
	n := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		n++
		for _, p := range importsAny(f, fieldAndPointPackages) {
			t.Errorf("%s imports %s: the engine uses vetted schemes, not curve arithmetic", path, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("walked %d Go files of the engine; expected the whole tree", n)
	}
}

// TestSuiteDoesNoCurveArithmetic fails if this package grows a file not in
// suiteFiles, or if a file of it imports a big-number package, calls a
// curve-arithmetic method or declares a multi-limb integer array (the
// shape of a field element).
func TestSuiteDoesNoCurveArithmetic(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		if _, ok := suiteFiles[name]; !ok {
			t.Errorf("%s is not in suiteFiles: say there what it does, and keep curve arithmetic out", name)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range importsAny(f, bigNumberPackages) {
			t.Errorf("%s imports %s", name, p)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if slices.Contains(arithmeticNames, n.Sel.Name) {
					t.Errorf("%s calls %s", name, n.Sel.Name)
				}
			case *ast.ArrayType:
				if limbs(n) {
					t.Errorf("%s declares a multi-limb integer array", name)
				}
			}
			return true
		})
	}
}

// limbs reports whether a is [N]uint32 or [N]uint64 (or uint) with N ≥ 4.
func limbs(a *ast.ArrayType) bool {
	lit, ok := a.Len.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return false
	}
	n, err := strconv.Atoi(lit.Value)
	if err != nil || n < 4 {
		return false
	}
	elt, ok := a.Elt.(*ast.Ident)
	return ok && (elt.Name == "uint64" || elt.Name == "uint32" || elt.Name == "uint")
}
