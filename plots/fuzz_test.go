package plots

import (
	"encoding/binary"
	"io"
	"math"
	"testing"
)

// FuzzFigures checks that no data, however odd, make Write panic or hang.
// The input bytes are read as little-endian float64s.
func FuzzFigures(f *testing.F) {
	floats := func(vs ...float64) []byte {
		b := make([]byte, 8*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
		return b
	}
	f.Add(floats(1, 2, 3, 4), uint8(0))
	f.Add(floats(0, -1, math.NaN(), math.Inf(1)), uint8(3))
	f.Add(floats(-1e308, 1e308, math.MaxFloat64, -math.MaxFloat64), uint8(0x12))
	f.Add(floats(5e-324, 5e-324, 1e17, 1e17), uint8(0x27))
	f.Add(floats(0, 0, 0, 0, 0, 0), uint8(0x3f))
	f.Add([]byte{}, uint8(0xff))
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		vs := make([]float64, len(data)/8)
		for i := range vs {
			vs[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		}
		half := len(vs) / 2
		x, y := Axis{Log: flags&1 != 0}, Axis{Log: flags&2 != 0}
		rows := int(flags>>4&3) + 1
		figs := []Figure{
			Line{X: x, Y: y, Series: []Series{{Name: "a", X: vs[:half], Y: vs[half : 2*half], Points: flags&4 != 0}, {Y: vs}}},
			Scatter{X: x, Y: y, Groups: []Series{{X: vs[:half], Y: vs[half : 2*half]}}},
			Bars{Y: y, Groups: []BarGroup{{Name: "a", Values: vs}}},
			HeatMap{Z: vs[:len(vs)/rows*rows], Rows: rows, Cols: len(vs) / rows, OriginLower: flags&8 != 0},
		}
		format := PNG
		if flags&0x40 != 0 {
			format = SVG
		}
		for _, fig := range figs {
			if _, err := Write(io.Discard, fig, &Options{Format: format, WidthPx: 160, HeightPx: 120}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
