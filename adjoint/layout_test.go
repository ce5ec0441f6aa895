package adjoint

import (
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"
)

func TestLayoutRoundTrip(t *testing.T) {
	w := FromData([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	b := Vector(7, 8)
	s := Scalar(9)
	l := LayoutOf(w, b, s)
	if l.Len() != 3 || l.Size() != 9 || l.Offset(1) != 6 || l.Offset(2) != 8 {
		t.Fatalf("layout: len %d size %d offsets %d %d", l.Len(), l.Size(), l.Offset(1), l.Offset(2))
	}
	if got := l.Shape(0); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("Shape(0) = %v", got)
	}
	flat := l.Pack(nil, w, b, s)
	if !floats.Equal(flat, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("Pack = %v", flat)
	}
	back := l.Unpack(flat)
	for i, want := range []*Tensor{w, b, s} {
		if !SameShape(back[i], want) || !floats.Equal(back[i].Data, want.Data) {
			t.Errorf("Unpack[%d] = %v, want %v", i, back[i], want)
		}
	}
	back[0].Data[0] = -1 // a copy
	if flat[0] != 1 {
		t.Error("Unpack shares memory with the flat vector")
	}
	views := l.Views(flat)
	views[1].Set(-8, 1) // a view
	if flat[7] != -8 || l.Part(flat, 1)[1] != -8 {
		t.Error("Views do not share memory with the flat vector")
	}
	part := l.Part(flat, 0)
	if len(part) != 6 || cap(part) != 6 {
		t.Errorf("Part(0) has len %d cap %d", len(part), cap(part))
	}
	if NewLayout().Size() != 0 || (Layout{}).Size() != 0 {
		t.Error("empty layouts are not empty")
	}
	for name, f := range map[string]func(){
		"Pack count": func() { l.Pack(nil, w, b) },
		"Pack shape": func() { l.Pack(nil, w, s, s) },
		"Pack dst":   func() { l.Pack(make([]float64, 3), w, b, s) },
		"Part":       func() { l.Part(make([]float64, 8), 0) },
		"negative":   func() { NewLayout([]int{-1}) },
	} {
		func() {
			defer func() {
				if s, ok := recover().(string); !ok || !strings.HasPrefix(s, "adjoint: ") {
					t.Errorf("%s: want an \"adjoint: \" panic", name)
				}
			}()
			f()
		}()
	}
}
