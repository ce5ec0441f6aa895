package plots

import (
	"path/filepath"
	"testing"
)

// BenchmarkSave saves typical figures at a typical size: with the theme,
// a PNG at density 2 and an SVG beside it.
func BenchmarkSave(b *testing.B) {
	for _, name := range []string{"line", "heat", "bars"} {
		fig := testFigures()[name]
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "f.png")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Save(path, fig, &Options{WidthPx: 640, HeightPx: 400}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
