package engine

import (
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/tree/treevectors"
)

// interopRunners maps each official vector file to the runner that checks
// every case of it; it returns the cases passed and the total.
var interopRunners = map[string]func(t *testing.T, name string) (int, int){
	"crypto-basics":      func(t *testing.T, n string) (int, int) { return runCases(t, n, checkCryptoBasics) },
	"deserialization":    func(t *testing.T, n string) (int, int) { return runCases(t, n, checkDeserialization) },
	"key-schedule":       func(t *testing.T, n string) (int, int) { return runCases(t, n, checkKeySchedule) },
	"message-protection": func(t *testing.T, n string) (int, int) { return runCases(t, n, checkMessageProtection) },
	"messages":           func(t *testing.T, n string) (int, int) { return runCases(t, n, checkMessages) },
	"psk_secret":         func(t *testing.T, n string) (int, int) { return runCases(t, n, checkPSKSecret) },
	"secret-tree":        func(t *testing.T, n string) (int, int) { return runCases(t, n, checkSecretTree) },
	"transcript-hashes":  func(t *testing.T, n string) (int, int) { return runCases(t, n, checkTranscriptHashes) },
	"welcome":            func(t *testing.T, n string) (int, int) { return runCases(t, n, checkWelcomeVector) },
	"passive-client-welcome": func(t *testing.T, n string) (int, int) {
		return runCases(t, n, checkPassiveVector)
	},
	"passive-client-handling-commit": func(t *testing.T, n string) (int, int) {
		return runCases(t, n, checkPassiveVector)
	},
	"passive-client-random": func(t *testing.T, n string) (int, int) { return runCases(t, n, checkPassiveVector) },
}

func init() {
	for _, name := range treevectors.Files() {
		interopRunners[name] = func(t *testing.T, n string) (int, int) { return treevectors.Run(t, n) }
	}
}

// TestInteropVectors runs every file of the vectors directory (the
// committed copies, or MLS_TEST_VECTORS) as one subtest named after the
// file. Every case of every cipher suite must pass, and a file no runner
// understands fails.
func TestInteropVectors(t *testing.T) {
	files, err := vectors.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no vector files in %s", vectors.Dir())
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // independent files; the long ones share both cores
			run, ok := interopRunners[name]
			if !ok {
				t.Fatalf("no runner understands vector file %q", name)
			}
			passed, total := run(t, name)
			if total == 0 {
				t.Fatalf("%s: no cases", name)
			}
			t.Logf("%s: %d/%d cases passed", name, passed, total)
			if passed != total {
				t.Errorf("%s: %d of %d cases failed", name, total-passed, total)
			}
		})
	}
}
