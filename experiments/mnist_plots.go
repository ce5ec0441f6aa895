package main

import (
	"image/color"
	"math"
)

// mnistTiles lays rows × cols small images (tiles[r*cols+c], each h×w
// values, row-major) out as one grid for a plots.HeatMap, with gap cells
// of NaN between them (drawn in the heat map's NaNColor: white gutters).
// It returns the values and the grid's size.
func mnistTiles(tiles [][]float64, rows, cols, h, w, gap int) (z []float64, zr, zc int) {
	zr, zc = rows*h+(rows-1)*gap, cols*w+(cols-1)*gap
	z = make([]float64, zr*zc)
	for i := range z {
		z[i] = math.NaN()
	}
	for r := range rows {
		for c := range cols {
			t := tiles[r*cols+c]
			if t == nil {
				continue
			}
			for i := range h {
				row := (r*(h+gap) + i) * zc
				copy(z[row+c*(w+gap):row+c*(w+gap)+w], t[i*w:(i+1)*w])
			}
		}
	}
	return z, zr, zc
}

// gutterColor is the colour of the gaps between tiles.
var gutterColor = color.White

// scaledToMaxAbs returns v divided by its largest absolute value (v
// itself if that is zero), for showing maps of different scales on one
// colour range [−1, 1].
func scaledToMaxAbs(v []float64) []float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	out := make([]float64, len(v))
	for i, x := range v {
		if m > 0 {
			out[i] = x / m
		} else {
			out[i] = x
		}
	}
	return out
}

// tileFigureHeight returns the height in CSS pixels at which a tiled heat
// map of zr × zc cells, drawn widthPx wide, shows square cells: the
// colour bar, tick labels and title take about 150 px across and 95 px
// down.
func tileFigureHeight(widthPx, zr, zc int) int {
	return 95 + int(math.Round(float64(zr)*float64(widthPx-150)/float64(zc)))
}
