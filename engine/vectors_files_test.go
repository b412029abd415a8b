package engine

import "testing"

func TestWelcomeVectorFile(t *testing.T) {
	n := runWelcomeVectors(t, "welcome")
	t.Logf("welcome: %d cases", n)
}

func TestPassiveClientWelcomeVectorFile(t *testing.T) {
	n := runPassiveVectors(t, "passive-client-welcome")
	t.Logf("passive-client-welcome: %d cases", n)
}

func TestPassiveClientHandlingCommitVectorFile(t *testing.T) {
	n := runPassiveVectors(t, "passive-client-handling-commit")
	t.Logf("passive-client-handling-commit: %d cases", n)
}
