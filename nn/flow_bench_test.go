package nn

import (
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// A Trainer's step on W1 without a Recorder, and with one (whose records
// come from an adjoint.Flow of every step's reverse pass):
//
//	GOMAXPROCS=1 go test ./nn -run '^$' -bench 'TrainerStep' -benchmem

func benchTrainerStep(b *testing.B, rec Recorder) {
	m, x, y := w1()
	tr := &Trainer{Model: m, Optimizer: &SGD{LR: 1e-3}, Recorder: rec}
	obj := func(_ int, ps []*adjoint.Var) (*adjoint.Var, []*adjoint.Var) {
		return SoftmaxCrossEntropy(m.Apply(ps, x), y), nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Step(obj); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTrainerStep(b *testing.B) { benchTrainerStep(b, nil) }

// discard is a Recorder that keeps nothing.
type discard struct{}

func (discard) Init([]string) error      { return nil }
func (discard) Record(*StepRecord) error { return nil }

func BenchmarkTrainerStepRecorded(b *testing.B) { benchTrainerStep(b, discard{}) }
