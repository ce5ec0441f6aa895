package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// file assembles a safetensors file by hand from a header and a data
// buffer, as the format's description lays it out.
func file(header string, data ...byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func le32(fs ...float32) []byte {
	var b []byte
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func le16(hs ...uint16) []byte {
	var b []byte
	for _, h := range hs {
		b = binary.LittleEndian.AppendUint16(b, h)
	}
	return b
}

// Hand-made files of every readable dtype decode to the values their bits
// stand for.
func TestDecodeDTypes(t *testing.T) {
	var data []byte
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(-0.1)) // a: F64 [1]
	data = append(data, le32(1.5, -2, 1e-45)...)                          // b: F32 [3]
	// c: F16 [2 3]: 1, −2, 2⁻²⁴ (smallest subnormal), 65504 (largest), +Inf, 0.333251953125
	data = append(data, le16(0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x3555)...)
	data = append(data, le16(0x3f80, 0xc0a0)...) // d: BF16 [2]: 1, −5
	data = binary.LittleEndian.AppendUint64(data, uint64(1<<53))
	data = binary.LittleEndian.AppendUint64(data, math.MaxUint64) // e: I64 [2]: 2⁵³, −1
	data = binary.LittleEndian.AppendUint32(data, 0xfffffffe)     // f: I32 []: −2
	data = append(data, 0xff, 0x01, 0x00)                         // g: U8 [1], h: BOOL [2]
	header := `{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},` +
		`"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},` +
		`"c":{"dtype":"F16","shape":[2,3],"data_offsets":[20,32]},` +
		`"d":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]},` +
		`"h":{"dtype":"BOOL","shape":[2],"data_offsets":[57,59]},` + // listed out of order
		`"e":{"dtype":"I64","shape":[2],"data_offsets":[36,52]},` +
		`"f":{"dtype":"I32","shape":[],"data_offsets":[52,56]},` +
		`"g":{"dtype":"U8","shape":[1],"data_offsets":[56,57]},` +
		`"__metadata__":{"format":"pt"}}   `
	ts, meta, err := Decode(file(header, data...))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		dtype DType
		shape []int
		data  []float64
	}{
		{"a", F64, []int{1}, []float64{-0.1}},
		{"b", F32, []int{3}, []float64{1.5, -2, float64(float32(1e-45))}},
		{"c", F16, []int{2, 3}, []float64{1, -2, math.Ldexp(1, -24), 65504, math.Inf(1), 0.333251953125}},
		{"d", BF16, []int{2}, []float64{1, -5}},
		{"e", I64, []int{2}, []float64{1 << 53, -1}},
		{"f", I32, []int{}, []float64{-2}},
		{"g", U8, []int{1}, []float64{255}},
		{"h", BOOL, []int{2}, []float64{1, 0}},
	}
	if len(ts) != len(want) {
		t.Fatalf("%d tensors, want %d", len(ts), len(want))
	}
	for i, w := range want {
		g := ts[i]
		if g.Name != w.name || g.DType != w.dtype || !slices.Equal(g.Value.Shape, w.shape) || !slices.Equal(g.Value.Data, w.data) {
			t.Errorf("tensor %d: %s %s %v %v, want %s %s %v %v", i, g.Name, g.DType, g.Value.Shape, g.Value.Data, w.name, w.dtype, w.shape, w.data)
		}
	}
	if meta["format"] != "pt" || len(meta) != 1 {
		t.Errorf("metadata %v", meta)
	}
}

// Encode writes what the format describes (checked byte for byte on a
// small case) and Decode reads it back exactly.
func TestEncodeRoundTrip(t *testing.T) {
	ts := []Tensor{
		{Name: "w", Value: adjoint.FromData([]float64{math.Pi, math.Inf(-1), math.SmallestNonzeroFloat64, math.Copysign(0, -1)}, 2, 2)},
		{Name: "f", DType: F32, Value: adjoint.Vector(0.5, -3)},
		{Name: "n", DType: I64, Value: adjoint.Scalar(42)},
		{Name: "empty", Value: adjoint.New(0, 3)},
		{Name: "ünïcode \"quoted\"", Value: adjoint.Vector(1)},
	}
	var buf bytes.Buffer
	if err := Encode(&buf, ts, map[string]string{"format": "pt", "by": "adjointkit"}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	n := binary.LittleEndian.Uint64(b)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	if !strings.HasPrefix(string(b[8:]), `{"__metadata__":{"by":"adjointkit","format":"pt"},"w":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]},"f":{"dtype":"F32","shape":[2],"data_offsets":[32,40]},"n":{"dtype":"I64","shape":[],"data_offsets":[40,48]}`) {
		t.Errorf("header %q", b[8:8+n])
	}
	if got := math.Float64frombits(binary.LittleEndian.Uint64(b[8+n:])); got != math.Pi {
		t.Errorf("first value %v", got)
	}
	back, meta, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if meta["by"] != "adjointkit" {
		t.Errorf("metadata %v", meta)
	}
	for i, w := range ts {
		g := back[i]
		d := w.DType
		if d == "" {
			d = F64
		}
		if g.Name != w.Name || g.DType != d || !slices.Equal(g.Value.Shape, w.Value.Shape) || !sameBits(g.Value.Data, w.Value.Data) {
			t.Errorf("tensor %q: %s %v, want %s %v", w.Name, g.DType, g.Value, d, w.Value)
		}
	}
	// No metadata and no tensors is a valid file too.
	buf.Reset()
	if err := Encode(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if ts, meta, err := Decode(buf.Bytes()); err != nil || len(ts) != 0 || meta != nil {
		t.Errorf("empty file: %v %v %v", ts, meta, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	for name, c := range map[string]struct {
		ts   []Tensor
		want string
	}{
		"duplicate": {[]Tensor{{Name: "a", Value: adjoint.Vector(1)}, {Name: "a", Value: adjoint.Vector(1)}}, `"a"`},
		"reserved":  {[]Tensor{{Name: "__metadata__", Value: adjoint.Vector(1)}}, "reserved"},
		"dtype":     {[]Tensor{{Name: "a", DType: F16, Value: adjoint.Vector(1)}}, `cannot write dtype "F16"`},
		"f32 range": {[]Tensor{{Name: "big", DType: F32, Value: adjoint.Vector(1e300)}}, `"big": element 0 = 1e+300 overflows F32`},
		"i64 frac":  {[]Tensor{{Name: "n", DType: I64, Value: adjoint.Vector(0.5)}}, `"n": element 0 = 0.5 is not an I64`},
		"nil value": {[]Tensor{{Name: "x"}}, `"x": nil value`},
	} {
		var buf bytes.Buffer
		err := Encode(&buf, c.ts, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %s", name, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written despite the error", name, buf.Len())
		}
	}
}

// Every kind of damage is an ErrFormat error that says what is wrong and,
// where a tensor is at fault, names it.
func TestDecodeErrors(t *testing.T) {
	good := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`
	data := le32(1, 2, 3)
	huge := binary.LittleEndian.AppendUint64(nil, math.MaxUint64)
	cases := []struct {
		name string
		file []byte
		want []string
	}{
		{"empty", nil, []string{"shorter than the 8-byte header length"}},
		{"truncated header length", []byte{1, 2, 3}, []string{"truncated"}},
		{"header overflow", append(huge, "{}"...), []string{"exceeds"}},
		{"header past the end", file(good, data...)[:20], []string{"only 12 bytes follow"}},
		{"truncated data", file(good, data[:10]...), []string{`"b"`, "beyond the 10-byte data buffer"}},
		{"extra data", file(good, append(data, 0, 0, 0, 0)...), []string{"16 bytes, the tensors use 12"}},
		{"not json", file("{not json}", data...), []string{"header"}},
		{"not an object", file("[1,2]   ", data...), []string{"start with '{'"}},
		{"trailing bytes", file(good+"x", data...), []string{"unexpected bytes after"}},
		{"invalid utf8", file("{\"\xff\":1}", data...), []string{"UTF-8"}},
		{"duplicate key", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, data...), []string{`"a" appears twice`}},
		{"unknown dtype", file(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,12]}}`, data...), []string{`"a"`, `unsupported dtype "F128"`}},
		{"f8 unsupported", file(`{"a":{"dtype":"F8_E4M3","shape":[12],"data_offsets":[0,12]}}`, data...), []string{`"a"`, "unsupported dtype"}},
		{"unknown field", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12],"extra":1}}`, data...), []string{`"a"`, "extra"}},
		{"missing offsets", file(`{"a":{"dtype":"F32","shape":[3]}}`, data...), []string{`"a"`, "lacks"}},
		{"negative dim", file(`{"a":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}}`, data...), []string{`"a"`}},
		{"size mismatch", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}`, data...), []string{`"a"`, "hold 12 bytes", "needs 8"}},
		{"reversed", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[12,0]}}`, data...), []string{`"a"`, "reversed"}},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, data...), []string{`"b"`, `overlap tensor "a"`}},
		{"gap", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, data...), []string{`"b"`, "unused"}},
		{"shape overflow", file(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,12]}}`, data...), []string{`"a"`, "needs more bytes"}},
		{"zero dim beside huge", file(`{"a":{"dtype":"F64","shape":[0,18446744073709551615],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}`, data...), []string{`"a"`}},
		{"offset overflow", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[18446744073709551615,18446744073709551615]}}`, data...), []string{`"a"`}},
		{"bad metadata", file(`{"__metadata__":{"k":1}}`), []string{"__metadata__"}},
		{"i64 beyond 2^53", file(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, binary.LittleEndian.AppendUint64(nil, 1<<53+1)...), []string{`"a"`, "not exactly representable"}},
		{"bad bool", file(`{"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}`, 2), []string{`"a"`, "not a boolean"}},
	}
	for _, c := range cases {
		ts, meta, err := Decode(c.file)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", c.name, err)
			continue
		}
		if ts != nil || meta != nil {
			t.Errorf("%s: returned tensors or metadata with the error", c.name)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %s", c.name, err, w)
			}
		}
	}
	if _, _, err := Decode(file(good, data...)); err != nil {
		t.Errorf("the undamaged file: %v", err)
	}
}

// Whatever the bytes, Decode returns an error or tensors that Encode
// writes back and Decode reads again unchanged; it never panics.
func FuzzDecode(f *testing.F) {
	f.Add(file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[],"data_offsets":[8,10]}}`, append(le32(1, 2), 0, 0x3c)...))
	f.Add(file(`{"__metadata__":{"a":"b"},"x":{"dtype":"I64","shape":[1,1],"data_offsets":[0,8]}}`, make([]byte, 8)...))
	f.Add(file(`{"x":{"dtype":"BF16","shape":[0,5],"data_offsets":[0,0]}}`))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, meta, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		for i := range ts {
			ts[i].DType = F64 // exact for every value Decode returns
		}
		var buf bytes.Buffer
		if err := Encode(&buf, ts, meta); err != nil {
			t.Fatalf("re-encoding a decoded file: %v", err)
		}
		back, meta2, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("decoding a re-encoded file: %v", err)
		}
		if len(back) != len(ts) || len(meta2) != len(meta) {
			t.Fatalf("round trip changed the contents")
		}
		for i := range ts {
			a, b := ts[i].Value, back[i].Value
			if back[i].Name != ts[i].Name || !slices.Equal(a.Shape, b.Shape) ||
				!sameBits(a.Data, b.Data) {
				t.Fatalf("tensor %q changed in the round trip", ts[i].Name)
			}
		}
	})
}

// sameBits reports whether a and b hold the same float64 bit patterns
// (telling −0 from 0 and comparing NaNs).
func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}
