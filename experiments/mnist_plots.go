package main

import "github.com/adjointkit/adjointkit/plots"

// mnistPixelScale is the colour scale of MNIST pixels (0 to 1) in the
// image grids: grey, with a colour bar.
var mnistPixelScale = []plots.ImageScale{{Palette: plots.Grey, Range: plots.Extent{Min: 0, Max: 1}, ColorBar: true, Label: "pixel"}}

// saveImageGrid saves g widthPx CSS pixels wide, at the height that fits
// it (ImageGrid.HeightPx).
func saveImageGrid(path string, g plots.ImageGrid, widthPx int) error {
	_, err := plots.Save(path, g, &plots.Options{WidthPx: widthPx, HeightPx: g.HeightPx(widthPx)})
	return err
}
