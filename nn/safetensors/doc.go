// Package safetensors reads and writes the safetensors format, the file
// format for tensors used across the machine-learning ecosystem (PyTorch,
// JAX, Hugging Face):
//
//	8 bytes     N, the header length, an unsigned little-endian integer
//	N bytes     the header: a UTF-8 JSON object, padded with spaces
//	rest        the data buffer: every tensor's raw little-endian bytes
//
// The header maps each tensor's name to
//
//	{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
//
// with offsets in bytes relative to the start of the data buffer, and may
// hold one more entry, "__metadata__", a map of strings to strings.
//
// Decode validates a file completely before returning anything: the header
// length against the file size, the JSON (no duplicate or unknown keys),
// every dtype and shape, and the offsets, which must lie inside the buffer,
// match the tensor's size, and tile the buffer without overlaps or gaps (as
// the reference implementation requires). Every error wraps ErrFormat and
// names the offending tensor; Decode never panics and never allocates more
// than a small multiple of the input's size, whatever the bytes.
//
// Values are converted to float64 (adjoint.Tensor's element type). Every
// floating-point dtype up to 64 bits converts exactly, and so does every
// integer that float64 holds exactly (|v| ≤ 2⁵³); larger integers are an
// error rather than a rounded value. Encode writes F64 (the default), F32
// or I64.
package safetensors
