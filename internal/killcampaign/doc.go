// Package killcampaign holds the kill campaign of issue 12: it builds
// mlsbackup with the killpoint tag (see cmd/mlsbackup/killpoint_on.go),
// runs the real agent and the real restore command as processes, and
// kills them with SIGKILL at every step (file create, write, fsync,
// directory fsync, rename, remove) of send, receive, create-and-merge,
// external join, restore and of recovery itself, while in-process members
// (package engine) play the rest of the group and the delivery service.
// After every kill it restarts the agent and checks that no answer the
// agent gave was lost (it is in GET /v1/outbox), that a retried call
// returns the stored answer, that no commit is left pending, that the
// group does not fork, and that no (key, nonce) pair repeats across every
// incarnation of the member. The package has no non-test code besides
// this comment.
package killcampaign
