package plots

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestBarsNotes(t *testing.T) {
	cats := []string{"linear", "stiff", "chaotic"}
	for _, tc := range []struct {
		name   string
		log    bool
		cats   []string
		groups []BarGroup
		want   []string
	}{
		{
			name: "linear with negatives", cats: cats,
			groups: []BarGroup{{Name: "bias", Values: []float64{-1, 0, 2}}},
		},
		{
			name: "log clean", log: true, cats: cats,
			groups: []BarGroup{{Name: "adjoint", Values: []float64{1e-9, 1e-7, 1e-3}}},
		},
		{
			name: "log zero and NaN", log: true, cats: cats,
			groups: []BarGroup{
				{Name: "adjoint", Values: []float64{0, 1e-7, nan}},
				{Name: "FD", Values: []float64{1e-3, -1, 1e-2}},
			},
			want: []string{
				"log y: dropped 2 non-positive/NaN bars from group 'adjoint'",
				"log y: dropped 1 non-positive bar from group 'FD'",
			},
		},
		{
			name: "linear Inf", cats: cats,
			groups: []BarGroup{{Values: []float64{1, inf, 2}}},
			want:   []string{"y: dropped 1 infinite bar from group 1"},
		},
		{
			name: "log all invalid", log: true,
			groups: []BarGroup{{Name: "dead", Values: []float64{0, 0}}},
			want:   []string{"log y: dropped all 2 non-positive bars from group 'dead' (nothing left to draw)"},
		},
		{
			name: "no groups", log: true, cats: cats,
		},
		{
			name: "nothing at all",
		},
	} {
		f := Bars{Categories: tc.cats, Groups: tc.groups, Y: Axis{Log: tc.log}, XLabel: "problem"}
		for _, format := range []Format{PNG, SVG} {
			data, notes := render(t, f, &Options{Format: format, WidthPx: 300, HeightPx: 200})
			if !reflect.DeepEqual(notes, tc.want) && len(notes)+len(tc.want) > 0 {
				t.Errorf("%s: notes\n%q\nwant\n%q", tc.name, notes, tc.want)
			}
			if format == SVG {
				svgText(t, data)
			}
		}
	}
}

func TestBarsLayout(t *testing.T) {
	f := Bars{Groups: []BarGroup{{Values: []float64{1, 2, 3}}, {Values: []float64{3, 2, 1}}}}
	data, _ := render(t, f, &Options{Format: SVG})
	text := svgText(t, data)
	for _, label := range []string{"0", "1", "2"} {
		if !slices.Contains(strings.Fields(text), label) {
			t.Errorf("category label %q missing from %q", label, text)
		}
	}

	// Long category names are wrapped onto several lines, not dropped.
	f.Categories = []string{"a rather long category name", "another long category name", "and a third one"}
	data, _ = render(t, f, &Options{Format: SVG, WidthPx: 300, HeightPx: 200})
	text = svgText(t, data)
	for _, c := range f.Categories {
		if !strings.Contains(text, c) {
			t.Errorf("category %q missing", c)
		}
	}
}
