package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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

// Dropout between stacked layers is Dropout applied to each layer's
// output sequence: a stack with dropout equals its layers one by one with
// Dropout layers between them drawing from an equal random stream, in
// outputs and gradients; in evaluation mode, and for the top layer's
// output, nothing is dropped.
func TestRecurrentDropout(t *testing.T) {
	rng := newRNG(27)
	const B, T, in, H, p = 3, 4, 2, 3, 0.4
	x := adjoint.Const(randTensor(rng, B, T, in))
	for _, bidir := range []bool{false, true} {
		dirs := 1
		if bidir {
			dirs = 2
		}
		makers := []func(rng *rand.Rand, in int, s *RNNSettings) Recurrent{
			func(rng *rand.Rand, in int, s *RNNSettings) Recurrent { return NewRNN(rng, in, H, s) },
			func(rng *rand.Rand, in int, s *RNNSettings) Recurrent { return NewGRU(rng, in, H, s) },
			func(rng *rand.Rand, in int, s *RNNSettings) Recurrent { return NewLSTM(rng, in, H, s) },
		}
		for _, mk := range makers {
			stack := mk(rng, in, &RNNSettings{Layers: 3, Bidirectional: bidir, Dropout: p, DropoutRNG: newRNG(7)})
			plain := mk(rng, in, &RNNSettings{Layers: 3, Bidirectional: bidir})
			seq := []Layer{}
			drop := newRNG(7)
			ps := stack.Params()
			per := len(ps) / 3
			for l := range 3 {
				cin := in
				if l > 0 {
					cin = dirs * H
				}
				single := mk(rng, cin, &RNNSettings{Bidirectional: bidir})
				for i, q := range single.Params() {
					copy(q.Value().Data, ps[l*per+i].Value().Data)
				}
				if l > 0 {
					seq = append(seq, NewDropout(drop, p))
				}
				seq = append(seq, single)
			}
			for i, q := range plain.Params() {
				copy(q.Value().Data, ps[i].Value().Data)
			}
			ref := NewSequential([]int{-1, in}, seq...)
			y, want := stack.Apply(Vars(stack), x), ref.Forward(x)
			if !slices.Equal(y.Value().Data, want.Value().Data) {
				t.Fatalf("%v: outputs differ from the layers with Dropout between them", stack)
			}
			gs := adjoint.Grad(adjoint.Sum(adjoint.Square(y)), Vars(stack)...)
			gw := adjoint.Grad(adjoint.Sum(adjoint.Square(want)), Vars(ref)...)
			for i := range gs {
				if !slices.Equal(gs[i].Data, gw[i].Data) {
					t.Errorf("%v: gradient of %s differs", stack, stack.Params()[i].Name)
				}
			}
			if d := maxAbsDiff(y.Value().Data, plain.Apply(Vars(plain), x).Value().Data); d == 0 {
				t.Errorf("%v: dropout changed nothing", stack)
			}
			SetTraining(stack, false)
			if !slices.Equal(stack.Apply(Vars(stack), x).Value().Data, plain.Apply(Vars(plain), x).Value().Data) {
				t.Errorf("%v: evaluation mode differs from the layer without dropout", stack)
			}
		}
	}
	mustPanic(t, func() { NewGRU(rng, 2, 2, &RNNSettings{Dropout: 1}) }, "dropout probability 1")
	if s := NewLSTM(rng, 2, 3, &RNNSettings{Layers: 2, Dropout: 0.25}).String(); s != "LSTM(2→3, 2 layers, dropout 0.25)" {
		t.Errorf("String() = %q", s)
	}
}

// On the adjoint-state engine the dropout masks are drawn once for the
// whole sequence, as Run draws them, so that recomputed steps see the
// same masks: the engine's gradients equal the traced ones with an equal
// random stream, whatever the checkpointing.
func TestRecurrentDropoutOnEngine(t *testing.T) {
	rng := newRNG(28)
	const B, T, in, H = 2, 7, 2, 3
	xt := randTensor(rng, B, T, in)
	for _, mk := range []func(s *RNNSettings) Recurrent{
		func(s *RNNSettings) Recurrent { return NewGRU(newRNG(29), in, H, s) },
		func(s *RNNSettings) Recurrent { return NewLSTM(newRNG(29), in, H, s) },
	} {
		traced := mk(&RNNSettings{Layers: 3, Dropout: 0.5, DropoutRNG: newRNG(30)})
		engine := mk(&RNNSettings{Layers: 3, Dropout: 0.5, DropoutRNG: newRNG(30)})
		hs := traced.Run(Vars(traced), adjoint.Const(xt), nil)
		loss := adjoint.Mean(adjoint.Square(hs[T-1]))
		want := adjoint.Grad(loss, Vars(traced)...)
		step, lay := engine.Recurrence(xt)
		theta := lay.Pack(nil, ParamValues(engine.Params())...)
		state := 3 * B * H
		if _, ok := engine.(*LSTM); ok {
			state *= 2
		}
		top := 2 * B * H
		terminal := adjoint.TracedLoss{Terminal: func(s, _ *adjoint.Var) *adjoint.Var {
			return adjoint.Mean(adjoint.Square(adjoint.Slice(s, 0, top, top+B*H)))
		}}.AsLoss()
		for _, policy := range []adjoint.Policy{adjoint.StoreAll(), adjoint.Binomial(2)} {
			thetabar := make([]float64, len(theta))
			res, err := adjoint.Recurrence(nil, thetabar, step, terminal, make([]float64, state), theta, T, policy, nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Loss-loss.Item()) > 1e-15 {
				t.Errorf("%v: engine loss %v, traced %v", engine, res.Loss, loss.Item())
			}
			for i, g := range lay.Unpack(thetabar) {
				if e := relErr(g.Data, want[i].Data); e > 1e-13 {
					t.Errorf("%v: parameter %s: relative difference %g", engine, engine.Params()[i].Name, e)
				}
			}
		}
	}
}

// TorchRNNDefault draws every weight from U(−1/√H, 1/√H), GRU's biases
// likewise, and the single bias of RNN and LSTM as the sum of two such
// draws (PyTorch's b_ih + b_hh): range ±2/√H, variance 2/(3H), and no
// forget-gate offset.
func TestTorchRNNDefault(t *testing.T) {
	rng := newRNG(31)
	const in, H = 30, 100
	set := &RNNSettings{InputInit: TorchRNNDefault(), RecurrentInit: TorchRNNDefault(), Layers: 2}
	b := 1 / math.Sqrt(H)
	for _, l := range []Recurrent{NewRNN(rng, in, H, set), NewGRU(rng, in, H, set), NewLSTM(rng, in, H, set)} {
		_, gru := l.(*GRU)
		for _, p := range l.Params() {
			d := p.Value().Data
			bound, variance := b, b*b/3
			if strings.HasSuffix(p.Name, "bias") && !gru {
				bound, variance = 2*b, 2*b*b/3
			}
			m, v := meanVar(d)
			n := float64(len(d))
			lo, hi := slices.Min(d), slices.Max(d)
			// Means within 4 standard errors; variances within 6 (the
			// standard error of a sample variance of U(−b, b) values is
			// about 0.9·variance/√n).
			if lo < -bound || hi > bound || math.Abs(m) > 4*math.Sqrt(variance/n) || math.Abs(v/variance-1) > 6/math.Sqrt(n) {
				t.Errorf("%v %s: range [%.4g, %.4g], mean %.3g, variance %.4g; want bound %.4g, variance %.4g",
					l, p.Name, lo, hi, m, v, bound, variance)
			}
		}
	}
}
