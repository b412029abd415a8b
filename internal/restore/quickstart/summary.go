package quickstart

import (
	"fmt"
	"io"
	"path/filepath"
)

// Print writes the closing summary for a newcomer. kept says whether the
// work directory stays after the run, so that its paths are worth showing.
func (s *Summary) Print(w io.Writer, kept bool) {
	fmt.Fprintf(w, "\nWhat just happened (%.1fs):\n", s.Elapsed.Seconds())
	fmt.Fprintf(w, "  - %d members ran one MLS group (RFC 9420) to epoch %d: %d commits (adds, self-updates, a removal) and %d encrypted messages.\n",
		len(s.Members), s.Epoch, s.Commits, s.Messages)
	fmt.Fprintf(w, "    Every state change went through each member's write-ahead log before it took effect.\n")
	fmt.Fprintf(w, "  - %d snapshots (every few epochs, and before the removal) were encrypted with age to %s\n", len(s.Snapshots), s.Recipient)
	fmt.Fprintf(w, "    and uploaded to %s. Uploading needs only that public recipient; reading needs the identity.\n", s.Destination)
	fmt.Fprintf(w, "  - bob lost his disk. restore downloaded his newest snapshot (epoch %d), decrypted and verified it and imported it atomically.\n", s.RestoredFrom.Epoch)
	fmt.Fprintf(w, "  - A restored member must not send until it commits: its lost state may have used the message keys of the restored\n")
	fmt.Fprintf(w, "    epoch and of every epoch it reached later. bob processed the %d commits he missed, decrypted alice's new message,\n", s.Missed)
	fmt.Fprintf(w, "    committed a self-update (an epoch his lost state never had) and sent his own message from epoch %d.\n", s.SentEpoch)
	if kept {
		fmt.Fprintf(w, "\nThe age identity that decrypts the backups: %s\n", s.IdentityFile)
	}
	if n := len(s.Snapshots); n > 0 && s.BucketDir != "" && kept {
		fmt.Fprintf(w, "Try it: age -d -i %s %s | head -c 8   (a snapshot starts with MLSBSNAP)\n",
			s.IdentityFile, filepath.Join(s.BucketDir, filepath.FromSlash(s.Snapshots[n-1].DataKey)))
	}
	fmt.Fprintf(w, "Next: run the agent ('mlsbackup agent'), drive groups with 'mlsbackup group ...', and see the runbook, docs/runbook.md.\n")
}
