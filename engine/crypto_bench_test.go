package engine

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/mlsbackup/mlsbackup/engine/internal/cputime"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// cryptoCost measures, in this process and so under the same load as the
// group benchmarks, what the primitives a group operation cannot avoid
// cost, so each operation can report its ratio to that floor ("x-crypto").
// Each primitive is timed once per benchmark run (per input size) and
// cached; the timing is the fastest of three rounds. Every price is kept
// both in wall time and in process CPU time; cpuMode selects which the
// floors add up (see reportRatio).
type cryptoCost struct {
	cs      *suite.Suite
	sigPriv []byte
	sigPub  []byte
	hpkePub []byte
	hpkePri []byte
	ns      map[string]price
	cpuMode bool
}

// price is the cost of one call of a primitive, in nanoseconds of wall
// time and of process CPU time (0 where the platform reports none).
type price struct{ wall, cpu float64 }

// pick returns the price of the current mode.
func (c *cryptoCost) pick(p price) float64 {
	if c.cpuMode {
		return p.cpu
	}
	return p.wall
}

// par is what work spread over the CPUs is divided by: their number for
// wall time, 1 for CPU time, which parallel work does not shorten.
func (c *cryptoCost) par() float64 {
	if c.cpuMode {
		return 1
	}
	return cpus()
}

func newCryptoCost(tb testing.TB) *cryptoCost {
	cs, err := suite.New(suite1)
	if err != nil {
		tb.Fatal(err)
	}
	c := &cryptoCost{cs: cs, ns: map[string]price{}}
	if c.sigPriv, c.sigPub, err = cs.GenerateSignatureKey(); err != nil {
		tb.Fatal(err)
	}
	if c.hpkePri, c.hpkePub, err = cs.GenerateKeyPair(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// prim is one primitive with fixed inputs: a cache key and one call.
type prim struct {
	key string
	fn  func() error
}

// cost returns the cost of p in nanoseconds (of the current mode),
// measured once per key: the fastest of three rounds of at least 3 calls
// and 10 ms each.
func (c *cryptoCost) cost(tb testing.TB, p prim) float64 {
	if v, ok := c.ns[p.key]; ok {
		return c.pick(v)
	}
	var best price
	for range 3 {
		n, start := 0, time.Now()
		cpu0, _ := cputime.Process()
		for n < 3 || time.Since(start) < 10*time.Millisecond {
			if err := p.fn(); err != nil {
				tb.Fatalf("primitive %s: %v", p.key, err)
			}
			n++
		}
		cpu1, _ := cputime.Process()
		v := price{float64(time.Since(start).Nanoseconds()) / float64(n), float64(cpu1-cpu0) / float64(n)}
		if best.wall == 0 || v.wall < best.wall {
			best.wall = v.wall
		}
		if best.cpu == 0 || v.cpu < best.cpu {
			best.cpu = v.cpu
		}
	}
	c.ns[p.key] = best
	return c.pick(best)
}

func filler(n int) []byte { return bytes.Repeat([]byte{0x5a}, n) }

// signP is SignWithLabel over l bytes.
func (c *cryptoCost) signP(_ testing.TB, l int) prim {
	msg := filler(l)
	return prim{fmt.Sprint("sign/", l), func() error {
		_, err := c.cs.SignWithLabel(c.sigPriv, "FramedContentTBS", msg)
		return err
	}}
}

// verifyP is VerifyWithLabel over l bytes by one key (a sender's, a
// committer's). It cycles over 256 messages, each signed once, and takes
// a fresh Suite for each round, so that every call is a verification the
// Suite has not made before (the Suite caches successful ones).
func (c *cryptoCost) verifyP(tb testing.TB, l int) prim {
	return c.verifyCycle(tb, fmt.Sprint("verify/", l), l, false)
}

// verifyNewP is VerifyWithLabel over l bytes by a key this Suite has not
// seen before (a joiner checking every leaf, a KeyPackage): 256 keys, one
// message each, a fresh Suite for each round.
func (c *cryptoCost) verifyNewP(tb testing.TB, l int) prim {
	return c.verifyCycle(tb, fmt.Sprint("verify-new/", l), l, true)
}

// verifyCycle is verifyP (newKeys false) or verifyNewP.
func (c *cryptoCost) verifyCycle(_ testing.TB, key string, l int, newKeys bool) prim {
	const rounds = 256
	var pubs, msgs, sigs [][]byte // made on the first call: only cost() calls it
	var cs *suite.Suite
	i := 0
	return prim{key, func() error {
		if pubs == nil {
			for k := range rounds {
				priv, pub := c.sigPriv, c.sigPub
				if newKeys {
					var err error
					if priv, pub, err = c.cs.GenerateSignatureKey(); err != nil {
						return err
					}
				}
				msg := append(filler(l), byte(k))
				sig, err := c.cs.SignWithLabel(priv, "FramedContentTBS", msg)
				if err != nil {
					return err
				}
				pubs, msgs, sigs = append(pubs, pub), append(msgs, msg), append(sigs, sig)
			}
		}
		if i%rounds == 0 {
			var err error
			if cs, err = suite.New(suite1); err != nil {
				return err
			}
		}
		k := i % rounds
		i++
		return cs.VerifyWithLabel(pubs[k], "FramedContentTBS", msgs[k], sigs[k])
	}}
}

// hpkeSealP is EncryptWithLabel of a 32-byte secret with a context of l
// bytes.
func (c *cryptoCost) hpkeSealP(_ testing.TB, l int) prim {
	ctx, pt := filler(l), filler(32)
	return prim{fmt.Sprint("hpke-seal/", l), func() error {
		_, _, err := c.cs.EncryptWithLabel(c.hpkePub, "UpdatePathNode", ctx, pt)
		return err
	}}
}

// hpkeOpenP is DecryptWithLabel of a 32-byte secret with a context of l
// bytes.
func (c *cryptoCost) hpkeOpenP(tb testing.TB, l int) prim {
	ctx := filler(l)
	kem, ct, err := c.cs.EncryptWithLabel(c.hpkePub, "UpdatePathNode", ctx, filler(32))
	if err != nil {
		tb.Fatal(err)
	}
	return prim{fmt.Sprint("hpke-open/", l), func() error {
		_, err := c.cs.DecryptWithLabel(c.hpkePri, "UpdatePathNode", ctx, kem, ct)
		return err
	}}
}

// deriveP is DeriveKeyPair (an X25519 base-point multiplication).
func (c *cryptoCost) deriveP(_ testing.TB) prim {
	ikm := filler(c.cs.Nh())
	return prim{"derive", func() error {
		_, _, err := c.cs.DeriveKeyPair(ikm)
		return err
	}}
}

// x25519P is one X25519 Diffie-Hellman.
func (c *cryptoCost) x25519P(tb testing.TB) prim {
	k1, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	k2, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return prim{"x25519", func() error {
		_, err := k1.ECDH(k2.PublicKey())
		return err
	}}
}

// aeadSealP and aeadOpenP are the AEAD over l bytes.
func (c *cryptoCost) aeadSealP(_ testing.TB, l int) prim {
	key, nonce, pt := filler(c.cs.KeySize()), filler(c.cs.NonceSize()), filler(l)
	return prim{fmt.Sprint("aead-seal/", l), func() error {
		_, err := c.cs.Seal(key, nonce, nil, pt)
		return err
	}}
}

func (c *cryptoCost) aeadOpenP(tb testing.TB, l int) prim {
	key, nonce := filler(c.cs.KeySize()), filler(c.cs.NonceSize())
	ct, err := c.cs.Seal(key, nonce, nil, filler(l))
	if err != nil {
		tb.Fatal(err)
	}
	return prim{fmt.Sprint("aead-open/", l), func() error {
		_, err := c.cs.Open(key, nonce, nil, ct)
		return err
	}}
}

// expandP is one secret-tree derivation (ExpandWithLabel).
func (c *cryptoCost) expandP(_ testing.TB) prim {
	secret := filler(c.cs.Nh())
	return prim{"expand", func() error {
		c.cs.DeriveTreeSecret(secret, "key", 7, c.cs.KeySize())
		return nil
	}}
}

func (c *cryptoCost) sign(tb testing.TB, l int) float64   { return c.cost(tb, c.signP(tb, l)) }
func (c *cryptoCost) verify(tb testing.TB, l int) float64 { return c.cost(tb, c.verifyP(tb, l)) }
func (c *cryptoCost) verifyNew(tb testing.TB, l int) float64 {
	return c.cost(tb, c.verifyNewP(tb, l))
}
func (c *cryptoCost) hpkeSeal(tb testing.TB, l int) float64 { return c.cost(tb, c.hpkeSealP(tb, l)) }
func (c *cryptoCost) hpkeOpen(tb testing.TB, l int) float64 { return c.cost(tb, c.hpkeOpenP(tb, l)) }
func (c *cryptoCost) derive(tb testing.TB) float64          { return c.cost(tb, c.deriveP(tb)) }
func (c *cryptoCost) aeadSeal(tb testing.TB, l int) float64 { return c.cost(tb, c.aeadSealP(tb, l)) }
func (c *cryptoCost) aeadOpen(tb testing.TB, l int) float64 { return c.cost(tb, c.aeadOpenP(tb, l)) }
func (c *cryptoCost) expand(tb testing.TB) float64          { return c.cost(tb, c.expandP(tb)) }

// pathCounts returns the number of UpdatePathNodes and of HPKE
// ciphertexts in the path of a commit sent as a PublicMessage.
func pathCounts(tb testing.TB, msg []byte) (nodes, seals int) {
	m, err := wire.ParseMLSMessage(msg, 0)
	if err != nil || m.PublicMessage == nil || m.PublicMessage.Content.Commit == nil {
		tb.Fatalf("not a public commit: %v", err)
	}
	p := m.PublicMessage.Content.Commit.Path
	if p == nil {
		return 0, 0
	}
	for _, n := range p.Nodes {
		seals += len(n.EncryptedPathSecret)
	}
	return len(p.Nodes), seals
}

// floors of each benchmarked operation (see BenchmarkGroup). Signed
// contents are taken as 200 bytes; the GroupInfo (signed, sealed, and the
// HPKE context of a Welcome) as its real size.
const smallSigned = 200

// pathCommit: the new leaf's and the commit's signatures, one key-pair
// derivation per path node and one HPKE encryption per ciphertext, the
// latter two spread over all CPUs as the tree package does.
func (c *cryptoCost) pathCommit(tb testing.TB, commit []byte) float64 {
	nodes, seals := pathCounts(tb, commit)
	return 2*c.sign(tb, smallSigned) + (float64(nodes)*c.derive(tb)+float64(seals)*c.hpkeSeal(tb, 100))/c.par()
}

// pathProcess: the commit's (a known key) and the new leaf's (a new key)
// signatures, one HPKE
// decryption and a key-pair derivation per path node at or above it (all
// of them for members a and b, whose common ancestor is the first),
// spread over all CPUs.
func (c *cryptoCost) pathProcess(tb testing.TB, commit []byte) float64 {
	nodes, _ := pathCounts(tb, commit)
	return c.verify(tb, smallSigned) + c.verifyNew(tb, smallSigned) + c.hpkeOpen(tb, 100) + float64(nodes)*c.derive(tb)/c.par()
}

// cpus is the number of CPUs the engine spreads parallel work over.
func cpus() float64 { return float64(runtime.GOMAXPROCS(0)) }

// welcomeParts returns the size of a Welcome's encrypted GroupInfo.
func welcomeGroupInfoSize(tb testing.TB, welcome []byte) int {
	m, err := wire.ParseMLSMessage(welcome, 0)
	if err != nil || m.Welcome == nil {
		tb.Fatalf("not a welcome: %v", err)
	}
	return len(m.Welcome.EncryptedGroupInfo)
}

// addCommit: the KeyPackage's two signatures (a new key), the commit's signature, the
// GroupInfo's signature, the external key pair, the GroupInfo's AEAD and
// the HPKE encryption of the GroupSecrets under the encrypted GroupInfo.
func (c *cryptoCost) addCommit(tb testing.TB, welcome []byte) float64 {
	l := welcomeGroupInfoSize(tb, welcome)
	return 2*c.verifyNew(tb, smallSigned) + c.sign(tb, smallSigned) + c.sign(tb, l) + c.derive(tb) + c.aeadSeal(tb, l) + c.hpkeSeal(tb, l)
}

// addProcess: the commit's signature (a known key) and the KeyPackage's
// two (a new key).
func (c *cryptoCost) addProcess(tb testing.TB) float64 {
	return c.verify(tb, smallSigned) + 2*c.verifyNew(tb, smallSigned)
}

// join: the GroupSecrets' HPKE decryption, the GroupInfo's AEAD and
// signature, and every member's leaf signature (checked on all CPUs), all
// by keys the joiner has not seen.
func (c *cryptoCost) join(tb testing.TB, welcome []byte, members int) float64 {
	l := welcomeGroupInfoSize(tb, welcome)
	return c.hpkeOpen(tb, l) + c.aeadOpen(tb, l) + c.verifyNew(tb, l) + float64(members)*c.verifyNew(tb, smallSigned)/c.par()
}

// encryptDecrypt: one signature and its verification, the content's and
// the sender data's AEAD both ways, and ten secret-tree derivations (key,
// nonce and next secret on each side, sender-data key and nonce on each).
func (c *cryptoCost) encryptDecrypt(tb testing.TB) float64 {
	return c.sign(tb, smallSigned) + c.verify(tb, smallSigned) + c.aeadSeal(tb, 100) + c.aeadOpen(tb, 100) + c.aeadSeal(tb, 16) + c.aeadOpen(tb, 16) + 10*c.expand(tb)
}

// benchClock is a benchmark's timer together with the process CPU time
// of its timed regions: every StartTimer and StopTimer of an operation's
// benchmark goes through it.
type benchClock struct {
	b       *testing.B
	cpu     time.Duration // CPU time of the finished timed regions
	since   time.Duration // CPU time when the running region started
	running bool
}

// startClock starts accounting with the timer running, as it is when a
// benchmark function starts or after setup's ResetTimer.
func startClock(b *testing.B) *benchClock {
	c := &benchClock{b: b, running: true}
	c.since, _ = cputime.Process()
	return c
}

func (c *benchClock) stop() {
	c.b.StopTimer()
	if c.running {
		now, _ := cputime.Process()
		c.cpu += now - c.since
		c.running = false
	}
}

func (c *benchClock) start() {
	c.since, _ = cputime.Process()
	c.running = true
	c.b.StartTimer()
}

// reportRatio stops the timer, then prices the floor (a primitive's first
// use measures it, which must not count as the operation's time) and
// reports the measured time per operation as a multiple of it
// ("x-crypto"); where the platform reports CPU time, also the process CPU
// time per operation ("cpu-ns/op") as a multiple of the floor in CPU time
// ("x-crypto-cpu", parallel work not divided by the CPUs), which load from
// other processes inflates far less.
func reportRatio(b *testing.B, cc *cryptoCost, clk *benchClock, floor func() float64) {
	clk.stop()
	if b.N == 0 {
		return
	}
	if f := floor(); f > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/f, "x-crypto")
	}
	if _, ok := cputime.Process(); !ok {
		return
	}
	perOp := float64(clk.cpu.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp, "cpu-ns/op")
	cc.cpuMode = true
	f := floor()
	cc.cpuMode = false
	if f > 0 {
		b.ReportMetric(perOp/f, "x-crypto-cpu")
	}
}

// benchPrimitives runs the primitives as sub-benchmarks of
// BenchmarkGroup/primitives, so their figures sit in the same run; a run
// long enough (10 ms or more) also replaces the cached cost the ratios use.
func benchPrimitives(b *testing.B, c *cryptoCost) {
	for _, p := range []struct {
		name string
		prim func(testing.TB) prim
	}{
		{"X25519", c.x25519P},
		{"X25519-derive-key-pair", c.deriveP},
		{"Ed25519-sign", func(tb testing.TB) prim { return c.signP(tb, smallSigned) }},
		{"Ed25519-verify", func(tb testing.TB) prim { return c.verifyP(tb, smallSigned) }},
		{"Ed25519-verify-new-key", func(tb testing.TB) prim { return c.verifyNewP(tb, smallSigned) }},
		{"HPKE-seal", func(tb testing.TB) prim { return c.hpkeSealP(tb, 100) }},
		{"HPKE-open", func(tb testing.TB) prim { return c.hpkeOpenP(tb, 100) }},
		{"AEAD-seal-100", func(tb testing.TB) prim { return c.aeadSealP(tb, 100) }},
		{"expand", c.expandP},
	} {
		b.Run("primitives/"+p.name, func(b *testing.B) {
			pr := p.prim(b)
			if err := pr.fn(); err != nil { // first-call set-up, untimed
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu0, _ := cputime.Process()
			for range b.N {
				if err := pr.fn(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu1, _ := cputime.Process()
			if b.Elapsed() >= 10*time.Millisecond {
				c.ns[pr.key] = price{float64(b.Elapsed().Nanoseconds()) / float64(b.N), float64(cpu1-cpu0) / float64(b.N)}
			}
		})
	}
}
