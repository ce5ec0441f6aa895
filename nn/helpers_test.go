package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Tolerances for adjoint.Check, as in the core's own tests: central
// differences carry errors around 1e-10 relative for well-scaled inputs,
// so 1e-6 catches any wrong rule (an O(1) error) with room to spare; the
// two exact modes differ only by rounding.
const (
	fdTol = 1e-6
	adTol = 1e-10
)

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6e6e)) }

func randTensor(rng *rand.Rand, shape ...int) *adjoint.Tensor {
	t := adjoint.New(shape...)
	for i := range t.Data {
		t.Data[i] = rng.NormFloat64()
	}
	return t
}

// checkLayer runs adjoint.Check on l.Apply as a function of the input x
// and every parameter, at random parameter values.
func checkLayer(t *testing.T, l Layer, rng *rand.Rand, firstOnly bool, xShape ...int) {
	t.Helper()
	xs := []*adjoint.Tensor{randTensor(rng, xShape...)}
	for _, p := range l.Params() {
		xs = append(xs, randTensor(rng, p.Value().Shape...))
	}
	f := func(v ...*adjoint.Var) *adjoint.Var { return l.Apply(v[1:], v[0]) }
	r := adjoint.Check(f, xs, &adjoint.CheckSettings{FirstOrderOnly: firstOnly})
	t.Log(r)
	if err := r.Err(fdTol, adTol); err != nil {
		t.Errorf("%v: %v\n%v", l, err, r)
	}
	if !firstOnly && !r.SecondOrder {
		t.Errorf("%v: second order did not run", l)
	}
}

// mustPanic runs f and returns its panic message, failing the test if f
// does not panic or the message lacks any of want.
func mustPanic(t *testing.T, f func(), want ...string) string {
	t.Helper()
	var msg string
	func() {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		f()
	}()
	if msg == "" {
		t.Fatalf("no panic; want one mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("panic %q does not mention %q", msg, w)
		}
	}
	return msg
}

func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = max(m, math.Abs(a[i]-b[i]))
	}
	return m
}
