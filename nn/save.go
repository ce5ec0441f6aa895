package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

var magic = [8]byte{'A', 'D', 'J', 'K', 'N', 'N', 0, 1}

// ErrFormat reports a file that is not a parameter file of this format or
// is damaged. Errors returned by Load and ReadParams wrap it when that is
// the cause.
var ErrFormat = errors.New("not a valid parameter file")

// ErrMismatch reports parameters in a file that do not match the model's
// (a name missing on either side, or different shapes). Errors returned by
// Load and ReadParams wrap it when that is the cause.
var ErrMismatch = errors.New("parameters do not match")

const (
	maxNameLen = 1 << 16
	maxRank    = 32
)

// Save writes ps to the file at path, atomically: the data goes to a
// temporary file in the same directory that is synced and then renamed over
// path, so path holds either its old contents or the complete new ones,
// never a partial file.
//
// The format is small and binary, all integers and numbers little-endian:
//
//	magic    8 bytes  "ADJKNN\x00\x01" (the last byte is the format version)
//	count    uint32   number of parameters
//	count records, in the order given:
//	  nameLen  uint32   length of the name in bytes
//	  name     nameLen bytes of UTF-8 ("layer2.weight")
//	  rank     uint32   number of dimensions
//	  dims     rank × uint64
//	  values   (product of dims) × float64 (IEEE 754 binary64), row-major
//	crc      uint32   CRC-32 (IEEE) of every byte before it
//
// The values are stored bit for bit, so a round trip is exact.
func Save(path string, ps []Param) error {
	var buf bytes.Buffer
	if err := WriteParams(&buf, ps); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	return nil
}

// writeAtomic writes data to a temporary file in path's directory, syncs
// it and renames it over path, so path holds either its old contents or
// the complete new ones.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Load reads the file at path, written by Save, into the tensors of ps,
// matching parameters by name. The file must hold exactly the parameters
// of ps, each with the same shape; otherwise Load returns an error that
// names the parameter and both shapes (wrapping ErrMismatch) and changes
// nothing. A damaged file gives an error wrapping ErrFormat. Load never
// panics on file contents.
func Load(path string, ps []Param) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("nn: load: %w", err)
	}
	if err := readParams(data, ps); err != nil {
		return fmt.Errorf("nn: load %s: %w", path, err)
	}
	return nil
}

// WriteParams writes ps to w in the format described for Save. Names must
// be unique.
func WriteParams(w io.Writer, ps []Param) error {
	seen := make(map[string]bool, len(ps))
	var b []byte
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ps)))
	for _, p := range ps {
		if seen[p.Name] {
			return fmt.Errorf("duplicate parameter name %q", p.Name)
		}
		seen[p.Name] = true
		t := p.Value()
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Name)))
		b = append(b, p.Name...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(t.Shape)))
		for _, d := range t.Shape {
			b = binary.LittleEndian.AppendUint64(b, uint64(d))
		}
		for _, v := range t.Data {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	_, err := w.Write(b)
	return err
}

// ReadParams reads parameters written by WriteParams from r into the
// tensors of ps, with the checks described for Load.
func ReadParams(r io.Reader, ps []Param) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return readParams(data, ps)
}

type record struct {
	name  string
	shape []int
	data  []byte
}

func readParams(data []byte, ps []Param) error {
	recs, err := parseParams(data)
	if err != nil {
		return err
	}
	byName := make(map[string]record, len(recs))
	for _, r := range recs {
		byName[r.name] = r
	}
	inModel := make(map[string]bool, len(ps))
	for _, p := range ps {
		inModel[p.Name] = true
		r, ok := byName[p.Name]
		if !ok {
			return fmt.Errorf("parameter %q (shape %v) is not in the file: %w", p.Name, p.Value().Shape, ErrMismatch)
		}
		if !slices.Equal(r.shape, p.Value().Shape) {
			return fmt.Errorf("parameter %q: file has shape %v, model has %v: %w", p.Name, r.shape, p.Value().Shape, ErrMismatch)
		}
	}
	for _, r := range recs {
		if !inModel[r.name] {
			return fmt.Errorf("file has parameter %q (shape %v) that the model does not have: %w", r.name, r.shape, ErrMismatch)
		}
	}
	// Everything matches: only now overwrite the model.
	for _, p := range ps {
		r := byName[p.Name]
		d := p.Value().Data
		for i := range d {
			d[i] = math.Float64frombits(binary.LittleEndian.Uint64(r.data[8*i:]))
		}
	}
	return nil
}

func parseParams(data []byte) ([]record, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrFormat)
	}
	if len(data) < len(magic)+8 || !bytes.Equal(data[:len(magic)-1], magic[:len(magic)-1]) {
		return nil, bad("missing header")
	}
	if v := data[len(magic)-1]; v != magic[len(magic)-1] {
		return nil, bad("format version %d, this package reads version %d", v, magic[len(magic)-1])
	}
	body := data[:len(data)-4]
	if want, got := binary.LittleEndian.Uint32(data[len(data)-4:]), crc32.ChecksumIEEE(body); want != got {
		return nil, bad("checksum mismatch (file damaged or truncated)")
	}
	rest := body[len(magic):]
	u32 := func() (uint32, bool) {
		if len(rest) < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(rest)
		rest = rest[4:]
		return v, true
	}
	count, _ := u32()
	var recs []record
	seen := map[string]bool{}
	for i := range count {
		n, ok := u32()
		if !ok || n > maxNameLen || int(n) > len(rest) {
			return nil, bad("record %d: bad name length", i)
		}
		name := string(rest[:n])
		rest = rest[n:]
		if seen[name] {
			return nil, bad("parameter %q appears twice", name)
		}
		seen[name] = true
		rank, ok := u32()
		if !ok || rank > maxRank || int(rank)*8 > len(rest) {
			return nil, bad("parameter %q: bad rank", name)
		}
		shape := make([]int, rank)
		size := uint64(1)
		for j := range shape {
			d := binary.LittleEndian.Uint64(rest)
			rest = rest[8:]
			if d > uint64(len(rest)) && d != 0 {
				return nil, bad("parameter %q: dimension %d too large", name, d)
			}
			size *= d
			if size > uint64(len(rest)) {
				return nil, bad("parameter %q: shape larger than the file", name)
			}
			shape[j] = int(d)
		}
		if size*8 > uint64(len(rest)) {
			return nil, bad("parameter %q: truncated values", name)
		}
		recs = append(recs, record{name: name, shape: shape, data: rest[:size*8]})
		rest = rest[size*8:]
	}
	if len(rest) != 0 {
		return nil, bad("%d unexpected bytes after the last parameter", len(rest))
	}
	return recs, nil
}
