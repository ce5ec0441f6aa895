package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// ErrFormat reports a file that is not a valid IDX file (wrong magic
// number, unknown element type, truncated or overlong data) or whose
// contents are not what a loader expected (shape, label range). Errors
// returned by this package wrap it when that is the cause.
var ErrFormat = errors.New("not a valid IDX file")

// ElemType is the element type of an IDX file: the third byte of its
// magic number.
type ElemType byte

// The element types of the IDX format. Multi-byte elements are stored
// big-endian.
const (
	Uint8   ElemType = 0x08
	Int8    ElemType = 0x09
	Int16   ElemType = 0x0B
	Int32   ElemType = 0x0C
	Float32 ElemType = 0x0D
	Float64 ElemType = 0x0E
)

// elemSize is the size in bytes of each element type; types not listed
// are not IDX types.
var elemSize = map[ElemType]int{Uint8: 1, Int8: 1, Int16: 2, Int32: 4, Float32: 4, Float64: 8}

// String names the type as the IDX description does.
func (t ElemType) String() string {
	switch t {
	case Uint8:
		return "unsigned byte"
	case Int8:
		return "signed byte"
	case Int16:
		return "short"
	case Int32:
		return "int"
	case Float32:
		return "float"
	case Float64:
		return "double"
	}
	return fmt.Sprintf("unknown type 0x%02x", byte(t))
}

// maxIDXBytes bounds the payload ReadIDX accepts (4 GiB), so that a
// damaged header cannot make it allocate without limit.
const maxIDXBytes = 1 << 32

// IDX is the content of an IDX file: the array format of the MNIST
// distribution. The file is
//
//	magic   4 bytes   0x00 0x00 type rank
//	dims    rank × uint32, big-endian
//	data    product(dims) elements of the type, big-endian, row-major
type IDX struct {
	// Type is the element type.
	Type ElemType
	// Dims are the array's dimensions, outermost first.
	Dims []int
	// Data holds the elements as stored: product(Dims) × the element
	// size bytes, big-endian.
	Data []byte
}

// Len returns the number of elements, the product of Dims.
func (x *IDX) Len() int {
	n := 1
	for _, d := range x.Dims {
		n *= d
	}
	return n
}

// Float64s decodes the elements into dst (allocated when nil or too
// short) and returns it.
func (x *IDX) Float64s(dst []float64) []float64 {
	n := x.Len()
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	d := x.Data
	for i := range dst {
		switch x.Type {
		case Uint8:
			dst[i] = float64(d[i])
		case Int8:
			dst[i] = float64(int8(d[i]))
		case Int16:
			dst[i] = float64(int16(binary.BigEndian.Uint16(d[2*i:])))
		case Int32:
			dst[i] = float64(int32(binary.BigEndian.Uint32(d[4*i:])))
		case Float32:
			dst[i] = float64(math.Float32frombits(binary.BigEndian.Uint32(d[4*i:])))
		case Float64:
			dst[i] = math.Float64frombits(binary.BigEndian.Uint64(d[8*i:]))
		}
	}
	return dst
}

// ReadIDX reads an IDX array from r, which may be gzip-compressed (it is
// recognised by its first two bytes, 0x1f 0x8b). It checks the magic
// number, the element type, that the data fill the dimensions exactly
// and that nothing follows them; errors wrap ErrFormat and say what was
// expected and what was found.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w (%w)", err, ErrFormat)
		}
		defer z.Close()
		br = bufio.NewReader(z)
	}
	var magic [4]byte
	if n, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("%w: file ends after %d bytes, before the 4-byte magic number: %v", ErrFormat, n, err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("%w: magic number %02x %02x %02x %02x does not start with two zero bytes", ErrFormat, magic[0], magic[1], magic[2], magic[3])
	}
	x := &IDX{Type: ElemType(magic[2])}
	size, ok := elemSize[x.Type]
	if !ok {
		return nil, fmt.Errorf("%w: magic number names element type 0x%02x; want one of 08, 09, 0b, 0c, 0d, 0e", ErrFormat, magic[2])
	}
	rank := int(magic[3])
	if rank == 0 {
		return nil, fmt.Errorf("%w: magic number gives 0 dimensions", ErrFormat)
	}
	dims := make([]byte, 4*rank)
	if n, err := io.ReadFull(br, dims); err != nil {
		return nil, fmt.Errorf("%w: file ends in the dimensions (%d of %d bytes): %v", ErrFormat, n, len(dims), err)
	}
	total := uint64(size)
	for i := range rank {
		d := binary.BigEndian.Uint32(dims[4*i:])
		x.Dims = append(x.Dims, int(d))
		total *= uint64(d)
		if total > maxIDXBytes {
			return nil, fmt.Errorf("%w: dimensions %v give more than %d bytes of data", ErrFormat, x.Dims, uint64(maxIDXBytes))
		}
	}
	// Read into a buffer grown as data arrive, so a header that promises
	// more than the file holds costs no more than the file.
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(br, int64(total)))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
			return nil, fmt.Errorf("%w: reading the data after %d of %d bytes: %v", ErrFormat, n, total, err)
		}
		return nil, fmt.Errorf("reading the data after %d of %d bytes: %w", n, total, err)
	}
	if uint64(n) < total {
		return nil, fmt.Errorf("%w: dimensions %v of %s need %d bytes of data, the file has %d (truncated?)", ErrFormat, x.Dims, x.Type, total, n)
	}
	var extra [1]byte
	if k, _ := br.Read(extra[:]); k > 0 {
		return nil, fmt.Errorf("%w: more data than dimensions %v of %s need (%d bytes)", ErrFormat, x.Dims, x.Type, total)
	}
	x.Data = buf.Bytes()
	return x, nil
}

// ReadIDXFile reads the IDX file at path, gzip-compressed or not (see
// ReadIDX). Errors name the path.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	x, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return x, nil
}

// WriteIDX writes x to w in the IDX format, uncompressed. It panics if
// x.Data does not hold exactly the elements of x.Dims.
func WriteIDX(w io.Writer, x *IDX) error {
	size, ok := elemSize[x.Type]
	if !ok || len(x.Dims) == 0 || len(x.Dims) > 255 {
		panic(fmt.Sprintf("data: WriteIDX: type 0x%02x with %d dimensions", byte(x.Type), len(x.Dims)))
	}
	if len(x.Data) != x.Len()*size {
		panic(fmt.Sprintf("data: WriteIDX: %d bytes of data for dimensions %v of %s", len(x.Data), x.Dims, x.Type))
	}
	b := []byte{0, 0, byte(x.Type), byte(len(x.Dims))}
	for _, d := range x.Dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	_, err := w.Write(x.Data)
	return err
}
