package framing

import (
	"fmt"
	"testing"
)

func TestMessageProtectionVectors(t *testing.T) {
	cases := loadProtection(t)
	passed := 0
	for i := range cases {
		v := &cases[i]
		ok := t.Run(fmt.Sprintf("suite=%d", v.CipherSuite), func(t *testing.T) {
			s := newSuite(t, v.CipherSuite)
			for _, it := range v.items() {
				checkPublic(t, s, v, it)
				checkPrivate(t, s, v, it)
			}
		})
		if ok {
			passed++
		}
	}
	t.Logf("message-protection: %d/%d cases passed", passed, len(cases))
}
