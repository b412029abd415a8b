package destcheck

import (
	"fmt"
	"strings"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// AddKeys adds the checks of the keys the uploads would use: recipients
// names what they are encrypted to (rerr why the recipients cannot be
// read), signer the public key of the signing key (serr why it cannot be
// read or is missing). A zero signer without serr means unsigned uploads,
// which the configuration allows (encryption.allow_unsigned). Only public
// keys are reported.
func (r *Report) AddKeys(recipients []string, rerr error, signer uploader.Signer, serr error) {
	switch {
	case rerr != nil:
		r.add(Result{Check: CheckRecipients, Status: StatusFail, Cause: CauseConfig, Detail: rerr.Error()})
	default:
		r.Recipients = recipients
		r.add(Result{Check: CheckRecipients, Status: StatusOK,
			Detail: fmt.Sprintf("%d: %s", len(recipients), strings.Join(recipients, ", "))})
	}
	switch {
	case serr != nil:
		r.add(Result{Check: CheckSigner, Status: StatusFail, Cause: CauseConfig, Detail: serr.Error()})
	case signer.IsZero():
		r.add(Result{Check: CheckSigner, Status: StatusOK,
			Detail: "none: uploads are unsigned (encryption.allow_unsigned; insecure: anyone who can write to the destination can plant a snapshot)"})
	default:
		r.Signer = signer.String()
		r.add(Result{Check: CheckSigner, Status: StatusOK, Detail: signer.String()})
	}
}
