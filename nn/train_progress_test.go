package nn

import (
	"errors"
	"slices"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// TestTrainerProgress checks that Run reports every step to Progress and
// stops, with the error, when Progress returns one.
func TestTrainerProgress(t *testing.T) {
	rng := newRNG(3)
	model := NewSequential([]int{2}, NewLinear(rng, 2, 1, nil))
	x := adjoint.Const(adjoint.FromData([]float64{1, 2, 3, 4}, 2, 2))
	y := adjoint.Const(adjoint.FromData([]float64{1, 0}, 2, 1))
	obj := func(_ int, ps []*adjoint.Var) (*adjoint.Var, []*adjoint.Var) {
		return MSE(model.Apply(ps, x), y), nil
	}
	var calls [][2]int
	stop := errors.New("stop")
	tr := &Trainer{Model: model, Progress: func(done, total int) error {
		calls = append(calls, [2]int{done, total})
		if done == 3 {
			return stop
		}
		return nil
	}}
	_, err := tr.Run(5, obj)
	if !errors.Is(err, stop) || tr.Steps() != 3 {
		t.Errorf("Run: error %v after %d steps, want the Progress error after 3", err, tr.Steps())
	}
	if want := [][2]int{{1, 5}, {2, 5}, {3, 5}}; !slices.Equal(calls, want) {
		t.Errorf("Progress calls %v, want %v", calls, want)
	}
}
