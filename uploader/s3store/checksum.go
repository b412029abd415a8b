package s3store

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"io"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Large bodies — PutObject of at least unsignedMin bytes and every
// UploadPart — are sent with the SigV4 payload hash UNSIGNED-PAYLOAD
// and an x-amz-checksum-crc32c header that the client computes from the
// bytes it sends. Otherwise (over plain HTTP; over HTTPS the SDK already
// sends UNSIGNED-PAYLOAD) the client would hash every body with SHA-256
// to sign it, and the server would hash it again to check the
// signature: two SHA-256 passes over every byte (about 45 ms of CPU per
// 64 MiB on each side here), where CRC32C costs a few milliseconds.
//
// Why this is safe:
//   - Integrity in transit is still checked by the server: it computes
//     the CRC32C of the body it received and rejects the request
//     (BadDigest or similar, a 400) if it differs from the header, so a
//     part corrupted on the way is not stored. The header itself is
//     signed (SigV4 signs the x-amz-checksum-* headers). Such a
//     rejection is retried with the body resent from its buffer (see
//     transientCode).
//   - A multipart upload is created with the CRC32C algorithm, and
//     CompleteMultipartUpload lists each part's CRC32C, so the server
//     also checks that it assembles exactly the parts we sent.
//   - End to end, snapshots do not rely on the transport: age
//     authenticates every 64 KiB chunk of the ciphertext, and the
//     manifest records the ciphertext's SHA-256, which verify and
//     restore check on download.
//   - What UNSIGNED-PAYLOAD gives up is protection against someone who
//     can rewrite a plain-HTTP request in flight (a CRC is no MAC). Such
//     an attacker can rewrite plain-HTTP responses as well, which SigV4
//     never covered, so downloads were never protected by it either;
//     use HTTPS against anything but a trusted local network. Small
//     bodies — manifests, leases, inline snapshots — keep the signed
//     SHA-256 payload hash: for them it costs next to nothing.

// unsignedMin is the smallest PutObject body sent with UNSIGNED-PAYLOAD
// and a CRC32C; parts always are (they are at least MinPartSize).
const unsignedMin = 1 << 20

// crcChunk is how much readFullCRC reads before it checksums: small
// enough that the bytes are still in the CPU cache.
const crcChunk = 256 << 10

// castagnoli returns the CRC32C table: MakeTable returns the package's
// shared one, which uses the CPU's CRC32 instruction where there is one.
func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// crc32cBase64 returns the CRC32C of data as S3 headers carry it: the
// base64 of the big-endian 4 bytes.
func crc32cBase64(data []byte) string {
	return encodeCRC(crc32.Checksum(data, castagnoli()))
}

// encodeCRC renders a CRC32C as S3 headers carry it.
func encodeCRC(crc uint32) string {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// readFullCRC is [io.ReadFull] that also returns the CRC32C of the bytes
// read. It reads at most crcChunk bytes at a time and checksums them
// right away, while they are in cache, instead of in a second pass over
// a whole part buffer.
func readFullCRC(r io.Reader, buf []byte) (int, uint32, error) {
	tab := castagnoli()
	var crc uint32
	n := 0
	var err error
	for n < len(buf) && err == nil {
		var m int
		m, err = r.Read(buf[n:min(len(buf), n+crcChunk)])
		crc = crc32.Update(crc, tab, buf[n:n+m])
		n += m
	}
	switch {
	case n == len(buf):
		err = nil
	case n > 0 && err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	return n, crc, err
}

// unsignedPayload is the per-operation option that sends the body with
// the UNSIGNED-PAYLOAD payload hash instead of its SHA-256.
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}
