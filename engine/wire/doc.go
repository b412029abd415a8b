// Package wire defines the Go form of every structure of RFC 9420 that goes
// on the wire or into a hash or signature, with its TLS presentation-language
// encoding.
//
// Each type has MarshalTLS(*codec.Writer) and UnmarshalTLS(*codec.Reader)
// methods; use [codec.Marshal] and [codec.Unmarshal] for whole values
// (Unmarshal rejects trailing bytes). Structures whose layout depends on
// context the RFC takes from an enclosing structure (the content type of a
// [PrivateMessageContent], the sender of a [FramedContentTBS]) carry that
// context as a field or take it as an argument.
//
// Decoders are strict, so that decoding and re-encoding any accepted input
// yields the same bytes (signatures and hashes are computed over
// re-encodings, or over the received bytes where a value keeps them, as
// [PublicMessage.RawContent] does): variable-length headers must be
// minimal, booleans and optional flags must be 0 or 1, tagged unions must
// use a known tag, padding must be zero, and no bytes may follow a value. Vectors are bounded by the
// input length (every element consumes at least one byte), so a hostile
// length cannot cause a large allocation. Semantic validation (lifetimes,
// capabilities, signatures) belongs to the callers.
//
// Byte slices returned by decoders alias the input buffer; callers that keep
// a decoded value must not modify that buffer afterwards.
package wire
