package nn

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/adjointkit/adjointkit/adjoint"
)

// naiveRNNLoss runs h_t = tanh(x_t W_x + h_{t−1} W_h + b) with plain loops
// and returns L = mean(h_T²). Before step inject+1 uses h_inject, delta is
// added to it, so that the derivative with respect to delta at 0 is the
// total derivative dL/dh_inject.
func naiveRNNLoss(x []float64, B, T, in, H int, wx, wh, b []float64, inject int, delta []float64) float64 {
	h := make([]float64, B*H)
	next := make([]float64, B*H)
	for t := range T {
		for n := range B {
			for j := range H {
				s := b[j]
				for i := range in {
					s += x[(n*T+t)*in+i] * wx[i*H+j]
				}
				for k := range H {
					s += h[n*H+k] * wh[k*H+j]
				}
				next[n*H+j] = math.Tanh(s)
			}
		}
		h, next = next, h
		if t == inject {
			for i := range h {
				h[i] += delta[i]
			}
		}
	}
	var l float64
	for _, v := range h {
		l += v * v
	}
	return l / float64(len(h))
}

// Backpropagation through time against finite differences of a direct
// loop implementation: the gradients of every parameter, and the total
// derivatives dL/dh_t at every step.
func TestBPTTAgainstFiniteDifferences(t *testing.T) {
	rng := newRNG(21)
	const B, T, in, H = 2, 9, 3, 4
	r := NewRNN(rng, in, H, &RNNSettings{RecurrentInit: Orthogonal(1.2)})
	copy(r.Params()[2].Value().Data, randTensor(rng, H).Data)
	xt := randTensor(rng, B, T, in)
	wx, wh, b := r.Params()[0].Value().Data, r.Params()[1].Value().Data, r.Params()[2].Value().Data

	hs := r.Run(Vars(r), adjoint.Const(xt), nil)
	loss := adjoint.Mean(adjoint.Square(hs[T-1]))
	if want := naiveRNNLoss(xt.Data, B, T, in, H, wx, wh, b, -1, nil); math.Abs(loss.Item()-want) > 1e-14 {
		t.Fatalf("loss %v, direct loops %v", loss.Item(), want)
	}
	grads := adjoint.Backward(loss, append(Vars(r), hs...), nil)

	set := &fd.Settings{Formula: fd.Central}
	for i, p := range [][]float64{wx, wh, b} {
		num := fd.Gradient(nil, func(v []float64) float64 {
			saved := append([]float64(nil), p...)
			copy(p, v)
			l := naiveRNNLoss(xt.Data, B, T, in, H, wx, wh, b, -1, nil)
			copy(p, saved)
			return l
		}, append([]float64(nil), p...), set)
		if e := relErr(grads[i].Value().Data, num); e > 1e-7 {
			t.Errorf("parameter %s: relative error %g", r.Params()[i].Name, e)
		}
	}
	for step := range T {
		num := fd.Gradient(nil, func(d []float64) float64 {
			return naiveRNNLoss(xt.Data, B, T, in, H, wx, wh, b, step, d)
		}, make([]float64, B*H), set)
		if e := relErr(grads[3+step].Value().Data, num); e > 1e-7 {
			t.Errorf("dL/dh_%d: relative error %g", step+1, e)
		}
	}
}

// relErr is max|a−b| / max|b|.
func relErr(a, b []float64) float64 {
	var ref float64
	for _, v := range b {
		ref = max(ref, math.Abs(v))
	}
	return maxAbsDiff(a, b) / ref
}

// Run and Apply agree, and Run's states are the slices of Apply's output.
func TestRecurrentApplyStacksRun(t *testing.T) {
	rng := newRNG(22)
	x := adjoint.Const(randTensor(rng, 3, 5, 2))
	for _, l := range []Recurrent{NewRNN(rng, 2, 4, nil), NewGRU(rng, 2, 4, nil), NewLSTM(rng, 2, 4, nil)} {
		hs := l.Run(Vars(l), x, nil)
		y := l.Apply(Vars(l), x).Value()
		for ts, h := range hs {
			for n := range 3 {
				for j := range 4 {
					if h.Value().At(n, j) != y.At(n, ts, j) {
						t.Fatalf("%v: step %d differs", l, ts)
					}
				}
			}
		}
		// A given initial state changes the result.
		h0 := adjoint.Const(randTensor(rng, 3, 4))
		if l.Run(Vars(l), x, h0)[0].Value().Data[0] == hs[0].Value().Data[0] {
			t.Errorf("%v: h0 ignored", l)
		}
	}
}

// The recurrent layers with an explicit initial state, checked to second
// order with respect to the initial state and the parameters.
func TestRecurrentInitialStateGradients(t *testing.T) {
	rng := newRNG(23)
	x := adjoint.Const(randTensor(rng, 2, 3, 2))
	for _, l := range []Recurrent{NewRNN(rng, 2, 3, nil), NewGRU(rng, 2, 3, nil), NewLSTM(rng, 2, 3, nil)} {
		xs := []*adjoint.Tensor{randTensor(rng, 2, 3)}
		for _, p := range l.Params() {
			xs = append(xs, randTensor(rng, p.Value().Shape...))
		}
		f := func(v ...*adjoint.Var) *adjoint.Var {
			hs := l.Run(v[1:], x, v[0])
			return hs[len(hs)-1]
		}
		r := adjoint.Check(f, xs, nil)
		if err := r.Err(fdTol, adTol); err != nil {
			t.Errorf("%v: %v", l, err)
		}
	}
}

// The layers' Recurrence steps driven by the adjoint-state engine give the
// gradients of the traced unrolling (to rounding), under any checkpointing
// policy, and the engine's adjoints λ_t are the traced dL/dh_t (of the top
// layer, for stacked layers).
func TestRecurrenceOnEngine(t *testing.T) {
	rng := newRNG(24)
	const B, T, in, H = 3, 11, 2, 4
	xt := randTensor(rng, B, T, in)
	x := adjoint.Const(xt)
	three := &RNNSettings{Layers: 3}
	for _, l := range []Recurrent{NewRNN(rng, in, H, nil), NewGRU(rng, in, H, nil), NewLSTM(rng, in, H, nil),
		NewRNN(rng, in, H, three), NewGRU(rng, in, H, three), NewLSTM(rng, in, H, three)} {
		layers := 1
		if l.Params()[0].Name != "w_x" {
			layers = three.Layers
		}
		top := (layers - 1) * B * H    // the top layer's h block of the state
		for _, p := range l.Params() { // non-zero biases
			for i := range p.Value().Data {
				p.Value().Data[i] += 0.1 * rng.NormFloat64()
			}
		}
		hs := l.Run(Vars(l), x, nil)
		loss := adjoint.Mean(adjoint.Square(hs[T-1]))
		want := adjoint.Backward(loss, append(Vars(l), hs...), nil)

		step, lay := l.Recurrence(xt)
		theta := lay.Pack(nil, ParamValues(l.Params())...)
		state := layers * B * H
		if _, ok := l.(*LSTM); ok {
			state *= 2
		}
		terminal := adjoint.TracedLoss{Terminal: func(s, _ *adjoint.Var) *adjoint.Var {
			return adjoint.Mean(adjoint.Square(adjoint.Slice(s, 0, top, top+B*H)))
		}}.AsLoss()
		for _, policy := range []adjoint.Policy{adjoint.StoreAll(), adjoint.Binomial(3)} {
			thetabar := make([]float64, len(theta))
			lambda := make([]float64, T+1)
			res, err := adjoint.Recurrence(nil, thetabar, step, terminal, make([]float64, state), theta, T, policy,
				&adjoint.RecurrenceSettings{OnAdjoint: func(k int, lam []float64) {
					lambda[k] = adjoint.FromData(lam[top:top+B*H:top+B*H], B*H).Norm()
				}})
			if err != nil {
				t.Fatalf("%v: %v", l, err)
			}
			if math.Abs(res.Loss-loss.Item()) > 1e-15 {
				t.Errorf("%v: engine loss %v, traced %v", l, res.Loss, loss.Item())
			}
			for i, g := range lay.Unpack(thetabar) {
				if e := relErr(g.Data, want[i].Value().Data); e > 1e-13 {
					t.Errorf("%v: parameter %s: relative difference %g", l, l.Params()[i].Name, e)
				}
			}
			// λ's h block (for LSTM the first half of the state, with the
			// cell state a separate variable, as in the traced graph).
			for k := 1; k <= T; k++ {
				if n := want[len(l.Params())+k-1].Value().Norm(); math.Abs(lambda[k]-n) > 1e-13*n {
					t.Errorf("%v: ‖λ_%d‖ = %v, traced ‖dL/dh_%d‖ = %v", l, k, lambda[k], k, n)
				}
			}
		}
	}
}

// Stacked and bidirectional layers from an initial state (h₀, and c₀ for
// the LSTM) to the outputs and the final state, checked to second order
// with respect to the input, the initial state and every parameter.
func TestRecurrentStateGradients(t *testing.T) {
	rng := newRNG(25)
	set := &RNNSettings{Layers: 2, Bidirectional: true}
	const B, T, in, H = 2, 3, 1, 2
	for _, l := range []Recurrent{NewRNN(rng, in, H, set), NewGRU(rng, in, H, set), NewLSTM(rng, in, H, set)} {
		_, lstm := l.(*LSTM)
		xs := []*adjoint.Tensor{randTensor(rng, B, T, in), randTensor(rng, 4, B, H)}
		if lstm {
			xs = append(xs, randTensor(rng, 4, B, H))
		}
		np := len(xs)
		for _, p := range l.Params() {
			xs = append(xs, randTensor(rng, p.Value().Shape...))
		}
		f := func(v ...*adjoint.Var) *adjoint.Var {
			s0 := State{H: v[1]}
			if lstm {
				s0.C = v[2]
			}
			y, s := l.ApplyState(v[np:], v[0], s0)
			out := []*adjoint.Var{adjoint.Reshape(y, -1), adjoint.Reshape(s.H, -1)}
			if lstm {
				out = append(out, adjoint.Reshape(s.C, -1))
			}
			return adjoint.Concat(0, out...)
		}
		r := adjoint.Check(f, xs, nil)
		if err := r.Err(fdTol, adTol); err != nil || !r.SecondOrder {
			t.Errorf("%v: %v (second order %v)", l, err, r.SecondOrder)
		}
	}
}

// The final state is the last step's output of the forward direction and
// the first step's output of the reverse one (PyTorch's h_n), and Run's
// rank-2 h₀ for a single layer is State{H: h₀}.
func TestRecurrentFinalState(t *testing.T) {
	rng := newRNG(26)
	const B, T, H = 2, 4, 3
	x := adjoint.Const(randTensor(rng, B, T, 2))
	l := NewGRU(rng, 2, H, &RNNSettings{Bidirectional: true})
	hs, s := l.RunState(Vars(l), x, State{})
	if got := s.H.Shape(); !slices.Equal(got, []int{2, B, H}) {
		t.Fatalf("final state shape %v", got)
	}
	last, first := hs[T-1].Value(), hs[0].Value()
	for n := range B {
		for j := range H {
			if s.H.Value().At(0, n, j) != last.At(n, j) || s.H.Value().At(1, n, j) != first.At(n, H+j) {
				t.Fatalf("final state (%d, %d) is not the last forward / first reverse output", n, j)
			}
		}
	}
	single := NewLSTM(rng, 2, H, nil)
	h0 := randTensor(rng, B, H)
	a := single.Run(Vars(single), x, adjoint.Const(h0))
	b, _ := single.RunState(Vars(single), x, State{H: adjoint.Const(h0.Reshaped(1, B, H))})
	if !slices.Equal(a[T-1].Value().Data, b[T-1].Value().Data) {
		t.Error("Run with h0 [batch hidden] differs from RunState with [1 batch hidden]")
	}
	mustPanic(t, func() { l.Recurrence(x.Value()) }, "nn: GRU(2→3, bidirectional)", "unidirectional")
	mustPanic(t, func() { l.RunState(Vars(l), x, State{H: adjoint.Const(adjoint.New(1, B, H))}) },
		"initial state H shape [1 2 3], want [2 2 3]")
	mustPanic(t, func() { l.RunState(Vars(l), x, State{C: adjoint.Const(adjoint.New(2, B, H))}) }, "LSTM only")
	if got := l.Params()[4].Name; got != "l0_reverse.w_x" {
		t.Errorf("parameter 4 is %q, want l0_reverse.w_x", got)
	}
}
