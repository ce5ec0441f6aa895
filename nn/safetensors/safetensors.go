package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/adjointkit/adjointkit/adjoint"
)

// DType names the element type of a stored tensor, as spelled in the
// header.
type DType string

// The dtypes of the format that this package reads. F8_E4M3 and F8_E5M2
// exist in the format but are not supported.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U64  DType = "U64"
	U32  DType = "U32"
	U16  DType = "U16"
	U8   DType = "U8"
	BOOL DType = "BOOL"
)

// Size returns the number of bytes of one element, or 0 for a dtype this
// package does not know.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, BOOL:
		return 1
	}
	return 0
}

// IsFloat reports whether d is a floating-point dtype.
func (d DType) IsFloat() bool { return d == F64 || d == F32 || d == F16 || d == BF16 }

// Tensor is one named tensor of a file.
type Tensor struct {
	// Name is the tensor's key in the header ("0.weight").
	Name string
	// DType is the stored element type. Decode reports the file's; for
	// Encode the zero value means F64.
	DType DType
	// Value holds the shape and the values, converted to float64.
	Value *adjoint.Tensor
}

// ErrFormat reports a file that is not valid safetensors. Every error that
// Decode returns wraps it.
var ErrFormat = errors.New("safetensors: invalid file")

// MaxHeader is the largest header Decode accepts, in bytes: 10⁸, the
// reference implementation's limit.
const MaxHeader = 100_000_000

const metadataKey = "__metadata__"

// entry is a tensor's header record.
type entry struct {
	DType       DType      `json:"dtype"`
	Shape       []uint64   `json:"shape"`
	DataOffsets *[2]uint64 `json:"data_offsets"`
}

// Decode parses a complete safetensors file. It returns the tensors in the
// order of their data offsets (the order in which they are stored) and the
// metadata (nil when the file has none). Any defect gives an error wrapping
// ErrFormat that names the tensor concerned, and no tensors.
func Decode(data []byte) ([]Tensor, map[string]string, error) {
	bad := func(format string, a ...any) ([]Tensor, map[string]string, error) {
		return nil, nil, fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, a...))
	}
	if len(data) < 8 {
		return bad("%d bytes, shorter than the 8-byte header length (file truncated?)", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	rest := uint64(len(data) - 8)
	switch {
	case n > MaxHeader:
		return bad("header length %d exceeds the %d-byte limit", n, MaxHeader)
	case n > rest:
		return bad("header length %d but only %d bytes follow (file truncated?)", n, rest)
	case n < 2:
		return bad("header length %d is too short for a JSON object", n)
	}
	header := data[8 : 8+n]
	buf := data[8+n:]
	if !utf8.Valid(header) {
		return bad("header is not valid UTF-8")
	}
	if header[0] != '{' {
		return bad("header does not start with '{'")
	}
	names, raws, err := splitObject(header)
	if err != nil {
		return bad("header: %v", err)
	}
	var meta map[string]string
	type located struct {
		name       string
		e          entry
		begin, end uint64
	}
	var ents []located
	for i, name := range names {
		if name == metadataKey {
			if meta, err = decodeMetadata(raws[i]); err != nil {
				return bad("%s: %v", metadataKey, err)
			}
			continue
		}
		var e entry
		if err := strictUnmarshal(raws[i], &e); err != nil {
			return bad("tensor %q: %v", name, err)
		}
		if e.DType == "" || e.Shape == nil || e.DataOffsets == nil {
			return bad("tensor %q: header entry lacks dtype, shape or data_offsets", name)
		}
		size := e.DType.Size()
		if size == 0 {
			return bad("tensor %q: unsupported dtype %q", name, e.DType)
		}
		count, ok := uint64(1), true
		for _, d := range e.Shape {
			var hi uint64
			hi, count = bits.Mul64(count, d)
			ok = ok && hi == 0
		}
		hi, nbytes := bits.Mul64(count, uint64(size))
		if !ok || hi != 0 || nbytes > uint64(len(buf)) || slices.ContainsFunc(e.Shape, func(d uint64) bool { return d > math.MaxInt32 }) {
			return bad("tensor %q: shape %v of %s needs more bytes than the %d-byte data buffer", name, e.Shape, e.DType, len(buf))
		}
		b, end := (*e.DataOffsets)[0], (*e.DataOffsets)[1]
		switch {
		case b > end:
			return bad("tensor %q: data offsets [%d, %d] are reversed", name, b, end)
		case end > uint64(len(buf)):
			return bad("tensor %q: data offsets [%d, %d] reach beyond the %d-byte data buffer (file truncated?)", name, b, end, len(buf))
		case end-b != nbytes:
			return bad("tensor %q: data offsets [%d, %d] hold %d bytes, shape %v of %s needs %d", name, b, end, end-b, e.Shape, e.DType, nbytes)
		}
		ents = append(ents, located{name, e, b, end})
	}
	// The tensors must tile the buffer: sorted by offset, each starts where
	// the previous one ended.
	slices.SortStableFunc(ents, func(a, b located) int {
		if c := cmp.Compare(a.begin, b.begin); c != 0 {
			return c
		}
		return cmp.Compare(a.end, b.end)
	})
	var pos uint64
	for i, l := range ents {
		b := l.begin
		if b < pos {
			return bad("tensor %q: data offsets [%d, %d] overlap tensor %q, which ends at %d", l.name, b, l.end, ents[i-1].name, pos)
		}
		if b > pos {
			return bad("tensor %q: data starts at %d, leaving bytes %d to %d of the buffer unused", l.name, b, pos, b)
		}
		pos = l.end
	}
	if pos != uint64(len(buf)) {
		return bad("data buffer has %d bytes, the tensors use %d", len(buf), pos)
	}
	ts := make([]Tensor, len(ents))
	for i, l := range ents {
		shape := make([]int, len(l.e.Shape))
		for j, d := range l.e.Shape {
			shape[j] = int(d) // checked ≤ MaxInt32 above
		}
		t := adjoint.New(shape...)
		if err := convert(t.Data, buf[l.begin:l.end], l.e.DType); err != nil {
			return bad("tensor %q: %v", l.name, err)
		}
		ts[i] = Tensor{Name: l.name, DType: l.e.DType, Value: t}
	}
	return ts, meta, nil
}

// splitObject returns the keys of the JSON object h, in order, and each
// key's raw value. Duplicate keys and trailing non-space bytes are errors.
func splitObject(h []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(h))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("not a JSON object")
	}
	var names []string
	var raws []json.RawMessage
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("object key is not a string")
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("key %q appears twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("value of %q: %v", name, err)
		}
		names = append(names, name)
		raws = append(raws, raw)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, err
	}
	if tail := h[dec.InputOffset():]; len(bytes.TrimRight(tail, " \t\r\n")) != 0 {
		return nil, nil, fmt.Errorf("%d unexpected bytes after the JSON object", len(tail))
	}
	return names, raws, nil
}

// strictUnmarshal decodes raw into v, rejecting unknown fields.
func strictUnmarshal(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}

func decodeMetadata(raw json.RawMessage) (map[string]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// convert decodes the little-endian elements of src into dst.
func convert(dst []float64, src []byte, d DType) error {
	const exact = 1 << 53
	le := binary.LittleEndian
	for i := range dst {
		switch d {
		case F64:
			dst[i] = math.Float64frombits(le.Uint64(src[8*i:]))
		case F32:
			dst[i] = float64(math.Float32frombits(le.Uint32(src[4*i:])))
		case F16:
			dst[i] = halfToFloat(le.Uint16(src[2*i:]))
		case BF16:
			dst[i] = float64(math.Float32frombits(uint32(le.Uint16(src[2*i:])) << 16))
		case I64:
			v := int64(le.Uint64(src[8*i:]))
			if v > exact || v < -exact {
				return fmt.Errorf("element %d = %d is not exactly representable as float64", i, v)
			}
			dst[i] = float64(v)
		case U64:
			v := le.Uint64(src[8*i:])
			if v > exact {
				return fmt.Errorf("element %d = %d is not exactly representable as float64", i, v)
			}
			dst[i] = float64(v)
		case I32:
			dst[i] = float64(int32(le.Uint32(src[4*i:])))
		case U32:
			dst[i] = float64(le.Uint32(src[4*i:]))
		case I16:
			dst[i] = float64(int16(le.Uint16(src[2*i:])))
		case U16:
			dst[i] = float64(le.Uint16(src[2*i:]))
		case I8:
			dst[i] = float64(int8(src[i]))
		case U8:
			dst[i] = float64(src[i])
		case BOOL:
			if src[i] > 1 {
				return fmt.Errorf("element %d: byte %d is not a boolean", i, src[i])
			}
			dst[i] = float64(src[i])
		}
	}
	return nil
}

// halfToFloat converts an IEEE 754 binary16 to float64 exactly.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 0x1f:
		if mant != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * math.Ldexp(1024+mant, exp-25)
}

// Encode writes ts and metadata (nil for none) to w as a safetensors file:
// the tensors are stored in the order given, the header lists the metadata
// first, and the header is padded with spaces to a multiple of 8 bytes so
// that the data buffer is aligned. DType may be F64 (the default), F32 or
// I64; F32 rounds each value to nearest and fails on values beyond its
// range, I64 fails on values that are not whole numbers in its range.
// Names must be unique, non-empty and not "__metadata__". Nothing is
// written when Encode returns an error about its arguments.
func Encode(w io.Writer, ts []Tensor, metadata map[string]string) error {
	var h bytes.Buffer
	h.WriteByte('{')
	if metadata != nil {
		b, err := json.Marshal(metadata) // sorts the keys
		if err != nil {
			return fmt.Errorf("safetensors: metadata: %w", err)
		}
		h.WriteString(`"` + metadataKey + `":`)
		h.Write(b)
	}
	seen := make(map[string]bool, len(ts))
	var off uint64
	for i, t := range ts {
		if t.Name == "" || t.Name == metadataKey || seen[t.Name] {
			return fmt.Errorf("safetensors: tensor %d: name %q is empty, reserved or repeated", i, t.Name)
		}
		seen[t.Name] = true
		d := t.DType
		if d == "" {
			d = F64
		}
		if d != F64 && d != F32 && d != I64 {
			return fmt.Errorf("safetensors: tensor %q: cannot write dtype %q (F64, F32 or I64)", t.Name, d)
		}
		if t.Value == nil {
			return fmt.Errorf("safetensors: tensor %q: nil value", t.Name)
		}
		name, _ := json.Marshal(t.Name)
		shape, _ := json.Marshal(t.Value.Shape)
		if t.Value.Shape == nil {
			shape = []byte("[]")
		}
		end := off + uint64(len(t.Value.Data)*d.Size())
		if metadata != nil || i > 0 {
			h.WriteByte(',')
		}
		fmt.Fprintf(&h, `%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, name, d, shape, off, end)
		off = end
	}
	h.WriteByte('}')
	if pad := (8 - h.Len()%8) % 8; pad > 0 {
		h.WriteString(strings.Repeat(" ", pad))
	}
	out := make([]byte, 0, 8+h.Len()+int(off))
	out = binary.LittleEndian.AppendUint64(out, uint64(h.Len()))
	out = append(out, h.Bytes()...)
	for _, t := range ts {
		var err error
		if out, err = appendValues(out, t); err != nil {
			return err
		}
	}
	_, err := w.Write(out)
	return err
}

func appendValues(b []byte, t Tensor) ([]byte, error) {
	le := binary.LittleEndian
	for i, v := range t.Value.Data {
		switch t.DType {
		case "", F64:
			b = le.AppendUint64(b, math.Float64bits(v))
		case F32:
			f := float32(v)
			if math.IsInf(float64(f), 0) && !math.IsInf(v, 0) {
				return nil, fmt.Errorf("safetensors: tensor %q: element %d = %g overflows F32", t.Name, i, v)
			}
			b = le.AppendUint32(b, math.Float32bits(f))
		case I64:
			if v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
				return nil, fmt.Errorf("safetensors: tensor %q: element %d = %g is not an I64", t.Name, i, v)
			}
			b = le.AppendUint64(b, uint64(int64(v)))
		}
	}
	return b, nil
}
