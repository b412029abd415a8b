// Package peerbench measures the engine side by side with Wire's
// core-crypto (OpenMLS with core-crypto's own keystore), the most deployed
// MLS client library, in one run: BenchmarkVersusCoreCrypto builds the same
// suite-1 "sparse" group in both and times every group operation on each,
// round by round, interleaved, reporting the engine's and the peer's
// milliseconds and the ratio peer/engine.
//
// The package holds only tests. The peer is corecrypto.mjs, a Node.js
// script that drives the npm package @wireapp/core-crypto (pinned in
// package-lock.json, installed by scripts/test.sh with npm ci); without node
// or the installed package the tests and the benchmark fail rather than
// skip. README.md says how the two sides differ.
package peerbench
