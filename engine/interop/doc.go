// Package interop tests the engine against an independent implementation of
// RFC 9420 running live: ts-mls (TypeScript, pinned in internal/tsmls), driven
// through a small Node.js peer process that speaks line-delimited JSON.
//
// The package holds only tests. They need node and the peer's node_modules,
// which scripts/test.sh installs (npm ci in internal/tsmls); without them the
// tests fail rather than skip.
package interop
