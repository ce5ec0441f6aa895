package plots

import (
	"reflect"
	"slices"
	"strconv"
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

// TestBarsThinLabels: with more categories than room for their labels,
// every k-th category (k = 1, 2, 5, 10, …) is labelled, and the figure
// is quick to draw.
func TestBarsThinLabels(t *testing.T) {
	vs := make([]float64, 1000)
	for i := range vs {
		vs[i] = float64(i % 7)
	}
	data, _ := render(t, Bars{Groups: []BarGroup{{Values: vs}}}, &Options{Format: SVG, WidthPx: 400, HeightPx: 300})
	var got []int
	for _, f := range strings.Fields(svgText(t, data)) {
		if v, err := strconv.Atoi(f); err == nil {
			got = append(got, v)
		}
	}
	// The Y axis labels 0–6; the rest are category labels.
	var cats []int
	for _, v := range got {
		if v > 6 {
			cats = append(cats, v)
		}
	}
	if len(cats) < 4 || len(cats) > 30 {
		t.Fatalf("%d category labels beyond 6: %v", len(cats), cats)
	}
	step := cats[1] - cats[0]
	for i, v := range cats {
		if v%step != 0 || i > 0 && v-cats[i-1] != step {
			t.Errorf("category labels %v are not every %d-th", cats, step)
			break
		}
	}
	if !slices.Contains([]int{10, 20, 50, 100, 200}, step) {
		t.Errorf("labelled every %d-th category, want a round step", step)
	}
}
