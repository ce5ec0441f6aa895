package plots

import (
	"bytes"
	"image/color"
	"image/png"
	"reflect"
	"testing"

	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// fontHas reports whether Liberation Sans has a glyph for r.
func fontHas(r rune) bool {
	face := font.DefaultCache.Lookup(themeFont, 10)
	var buf sfnt.Buffer
	i, err := face.Face.GlyphIndex(&buf, r)
	return err == nil && i != 0
}

func TestMarkupSpans(t *testing.T) {
	// Variables, not constants, so that products round as in the
	// parser.
	sub, sup, s := subShift, supShift, scriptScale
	for _, tc := range []struct {
		in   string
		want []span
	}{
		{"plain text", []span{{"plain text", 1, 0, false}}},
		{"‖dL/dW_l‖", []span{{"||dL/dW", 1, 0, false}, {"l", s, sub, false}, {"||", 1, 0, false}}},
		{"k_obs", []span{{"k", 1, 0, false}, {"obs", s, sub, false}}},
		{"10^{-3}", []span{{"10", 1, 0, false}, {"−3", s, sup, false}}},
		{"10^-3 s", []span{{"10", 1, 0, false}, {"−3", s, sup, false}, {" s", 1, 0, false}}},
		{"x^2_i", []span{{"x", 1, 0, false}, {"2", s, sup, false}, {"i", s, sub, false}}},
		{"θ^*", []span{{"θ", 1, 0, false}, {"*", s, sup, false}}},
		{"e^{x_i}", []span{{"e", 1, 0, false}, {"x", s, sup, false}, {"i", s * s, sup + s*sub, false}}},
		{"W_{l, 2} b", []span{{"W", 1, 0, false}, {"l, 2", s, sub, false}, {" b", 1, 0, false}}},
		// Escapes, and _ or ^ with nothing to raise or lower.
		{`x\_1 a\^b \{\}\\`, []span{{`x_1 a^b {}\`, 1, 0, false}}},
		{"a_ b^", []span{{"a_ b^", 1, 0, false}}},
		{"a_{b", []span{{"a_{b", 1, 0, false}}},
		// Underscores meant literally need Escape.
		{"snake_case_name", []span{{"snake", 1, 0, false}, {"casename", s, sub, false}}},
		// Unicode scripts, which the font partly lacks and spaces
		// widely, become scripts of plain characters.
		{"x₁ Wᵀ", []span{{"x", 1, 0, false}, {"1", s, sub, false}, {" W", 1, 0, false}, {"T", s, sup, false}}},
		{"log₁₀ x²", []span{{"log", 1, 0, false}, {"10", s, sub, false}, {" x", 1, 0, false}, {"2", s, sup, false}}},
		{"λₖ 10⁻³", []span{{"λ", 1, 0, false}, {"k", s, sub, false}, {" 10", 1, 0, false}, {"−3", s, sup, false}}},
		// Stand-ins for missing characters.
		{"∇f ∝ ⟨a, b⟩", []span{{"∇", 1, 0, true}, {"f ~ <a, b>", 1, 0, false}}},
	} {
		p := markupParser{has: fontHas}
		p.parse(tc.in, 1, 0)
		if !reflect.DeepEqual(p.out, tc.want) {
			t.Errorf("%q: spans\n%v\nwant\n%v", tc.in, p.out, tc.want)
		}
	}
}

func TestEscape(t *testing.T) {
	in := `max_iter^2 {a} \ x`
	if got, want := Escape(in), `max\_iter\^2 \{a\} \\ x`; got != want {
		t.Errorf("Escape(%q) = %q, want %q", in, got, want)
	}
	p := markupParser{has: fontHas}
	p.parse(Escape(in), 1, 0)
	if len(p.out) != 1 || p.out[0].text != in || p.out[0].scale != 1 {
		t.Errorf("escaped text parses to %v, want %q verbatim", p.out, in)
	}
}

// TestGlyphs checks the font against the characters figure text uses:
// those it has are drawn as they are, and every stand-in for one it lacks
// is itself in the font.
func TestGlyphs(t *testing.T) {
	for _, r := range "‖×−θλ∂ρσαηγφψμνωπτεδβκΔΣΩ≈≤≥±·…–—°√∞∫′ŷ½²³¹ᵀ₀₁₂₃₄₅₆₇₈₉ᵢ→|" {
		if !fontHas(r) {
			t.Errorf("Liberation Sans lacks %q (U+%04X)", r, r)
		}
	}
	for r, sub := range fallbacks {
		if fontHas(r) {
			t.Errorf("fallback for %q, which the font has", r)
		}
		if r == '∇' {
			sub = "Δ"
		}
		for _, q := range sub {
			if !fontHas(q) {
				t.Errorf("stand-in %q for %q is not in the font", q, r)
			}
		}
	}
	for r, q := range scriptPlain {
		if !fontHas(q) {
			t.Errorf("plain %q for script %q is not in the font", q, r)
		}
	}
}

func TestMarkupBox(t *testing.T) {
	fnt := font.From(themeFont, 10)
	m := markupHandler
	wPlain, hPlain, dPlain := m.Box("Wl", fnt)
	wSub, _, dSub := m.Box("W_l", fnt)
	_, hSup, _ := m.Box("W^2", fnt)
	if !(wSub < wPlain) {
		t.Errorf("W_l is %v wide, Wl %v: a subscript should be narrower", wSub, wPlain)
	}
	if !(dSub > dPlain) {
		t.Errorf("W_l reaches %v below the line, Wl %v", dSub, dPlain)
	}
	if !(hSup > hPlain) {
		t.Errorf("W^2 reaches %v above the line, Wl %v", hSup, hPlain)
	}
}

// inkRows renders s large and returns, for its top and bottom halves,
// the number of dark pixels.
func inkRows(t *testing.T, s string) (top, bottom int) {
	t.Helper()
	c := vgimg.NewWith(vgimg.UseWH(80, 80), vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(c)
	sty := textStyle(48)
	sty.Color = color.Black
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	dc.FillText(sty, vg.Point{X: 40, Y: 40}, s)
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	// The glyph's vertical extent, then the halves of it.
	lo, hi := b.Max.Y, b.Min.Y
	dark := func(x, y int) bool { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 128 }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if dark(x, y) {
				lo, hi = min(lo, y), max(hi, y)
			}
		}
	}
	mid := (lo + hi) / 2
	for y := lo; y <= hi; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if dark(x, y) {
				if y < mid {
					top++
				} else {
					bottom++
				}
			}
		}
	}
	return top, bottom
}

// TestNabla checks that ∇, which the font lacks, is drawn as an upside-
// down Δ: more ink in its top half, where Δ has more in its bottom half.
func TestNabla(t *testing.T) {
	top, bottom := inkRows(t, "Δ")
	if !(bottom > top) {
		t.Fatalf("Δ: %d dark pixels in the top half, %d in the bottom", top, bottom)
	}
	top, bottom = inkRows(t, "∇")
	if !(top > bottom) {
		t.Errorf("∇: %d dark pixels in the top half, %d in the bottom; want an upside-down Δ", top, bottom)
	}
}
