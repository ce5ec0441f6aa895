package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func smallModel(seed uint64, hidden int) *Sequential {
	rng := newRNG(seed)
	return NewSequential([]int{3}, NewLinear(rng, 3, hidden, nil), Tanh(), NewLinear(rng, hidden, 2, nil))
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.params")
	a := smallModel(1, 4)
	a.Params()[0].Value().Data[0] = math.Inf(-1) // stored bit for bit
	a.Params()[1].Value().Data[1] = math.SmallestNonzeroFloat64
	if err := Save(path, a.Params()); err != nil {
		t.Fatal(err)
	}
	b := smallModel(2, 4)
	if err := Load(path, b.Params()); err != nil {
		t.Fatal(err)
	}
	for i, p := range a.Params() {
		q := b.Params()[i]
		if p.Name != q.Name || !slices.Equal(p.Value().Data, q.Value().Data) {
			t.Errorf("parameter %s differs after the round trip", p.Name)
		}
	}
	// Overwriting works and leaves no temporary files.
	if err := Save(path, b.Params()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after two saves, want 1", len(entries))
	}
	// Loading matches by name, whatever the order.
	ps := b.Params()
	slices.Reverse(ps)
	if err := Load(path, ps); err != nil {
		t.Errorf("reordered parameters: %v", err)
	}
}

func TestLoadMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.params")
	if err := Save(path, smallModel(1, 4).Params()); err != nil {
		t.Fatal(err)
	}
	other := smallModel(3, 5)
	before := slices.Clone(other.Params()[0].Value().Data)
	err := Load(path, other.Params())
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("error %v does not wrap ErrMismatch", err)
	}
	for _, want := range []string{path, `"layer0.weight"`, "[3 4]", "[3 5]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if !slices.Equal(other.Params()[0].Value().Data, before) {
		t.Error("a failed Load changed the model")
	}

	rng := newRNG(4)
	extra := NewSequential([]int{3}, NewLinear(rng, 3, 4, nil), Tanh(), NewLinear(rng, 4, 2, nil), NewLinear(rng, 2, 2, nil))
	if err := Load(path, extra.Params()); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `"layer3.weight"`) {
		t.Errorf("missing parameter: %v", err)
	}
	fewer := NewSequential([]int{3}, NewLinear(rng, 3, 4, nil))
	if err := Load(path, fewer.Params()); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `"layer2.weight"`) {
		t.Errorf("extra parameter in the file: %v", err)
	}
}

func TestLoadDamagedFiles(t *testing.T) {
	var buf bytes.Buffer
	m := smallModel(1, 4)
	if err := WriteParams(&buf, m.Params()); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flipped := slices.Clone(good)
	flipped[40] ^= 1
	version := slices.Clone(good)
	version[7] = 9
	for name, data := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-9],
		"flipped":   flipped,
		"version":   version,
		"garbage":   []byte("this is not a parameter file at all"),
	} {
		err := ReadParams(bytes.NewReader(data), m.Params())
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", name, err)
		}
	}
	if err := Load(filepath.Join(t.TempDir(), "missing"), m.Params()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	dup := append(m.Params(), m.Params()[0])
	if err := WriteParams(&buf, dup); err == nil {
		t.Error("duplicate names accepted")
	}
}

// Whatever the bytes, reading returns an error or succeeds; it never
// panics or allocates beyond the input's size.
func FuzzReadParams(f *testing.F) {
	var buf bytes.Buffer
	m := smallModel(1, 2)
	WriteParams(&buf, m.Params())
	f.Add(buf.Bytes())
	f.Add([]byte("ADJKNN\x00\x01\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadParams(bytes.NewReader(data), m.Params())
		// With a valid checksum appended, the parser behind it is reached.
		sum := binary.LittleEndian.AppendUint32(slices.Clone(data), crc32.ChecksumIEEE(data))
		ReadParams(bytes.NewReader(sum), m.Params())
	})
}
