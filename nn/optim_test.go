package nn

import (
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-15*max(1, math.Abs(b)) }

func TestSGD(t *testing.T) {
	p := adjoint.Vector(1, -2)
	g1, g2 := adjoint.Vector(0.5, 1), adjoint.Vector(-1, 2)
	o := &SGD{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01}
	o.Step([]*adjoint.Tensor{p}, []*adjoint.Tensor{g1})
	// v1 = g1 + wd·θ0; θ1 = θ0 − lr·v1.
	v1 := []float64{0.5 + 0.01*1, 1 + 0.01*-2}
	th1 := []float64{1 - 0.1*v1[0], -2 - 0.1*v1[1]}
	if !near(p.Data[0], th1[0]) || !near(p.Data[1], th1[1]) {
		t.Fatalf("step 1: %v, want %v", p.Data, th1)
	}
	o.Step([]*adjoint.Tensor{p}, []*adjoint.Tensor{g2})
	for i := range 2 {
		v2 := 0.9*v1[i] + g2.Data[i] + 0.01*th1[i]
		if want := th1[i] - 0.1*v2; !near(p.Data[i], want) {
			t.Errorf("step 2 element %d: %v, want %v", i, p.Data[i], want)
		}
	}
	// Plain SGD and Nesterov.
	q := adjoint.Vector(1)
	(&SGD{LR: 0.5}).Step([]*adjoint.Tensor{q}, []*adjoint.Tensor{adjoint.Vector(2)})
	if q.Data[0] != 0 {
		t.Errorf("plain SGD: %v, want 0", q.Data[0])
	}
	n := &SGD{LR: 1, Momentum: 0.5, Nesterov: true}
	q = adjoint.Vector(0)
	n.Step([]*adjoint.Tensor{q}, []*adjoint.Tensor{adjoint.Vector(1)}) // v=1, d = 1 + 0.5
	if q.Data[0] != -1.5 {
		t.Errorf("Nesterov: %v, want -1.5", q.Data[0])
	}
	mustPanic(t, func() { o.Step([]*adjoint.Tensor{adjoint.Vector(1, 2, 3)}, []*adjoint.Tensor{adjoint.Vector(1, 2, 3)}) },
		"nn: SGD.Step", "[3]", "[2]")
	mustPanic(t, func() { o.Step([]*adjoint.Tensor{p}, nil) }, "nn: SGD.Step")
}

func TestAdam(t *testing.T) {
	p := adjoint.Vector(1, 1, 1)
	o := NewAdam(0.01)
	g1 := adjoint.Vector(3, -1e-3, 0)
	o.Step([]*adjoint.Tensor{p}, []*adjoint.Tensor{g1})
	// First step: m̂ = g, v̂ = g², so the step is lr·g/(|g|+ε) ≈ lr·sign(g).
	for i, want := range []float64{1 - 0.01*3/(3+1e-8), 1 + 0.01*1e-3/(1e-3+1e-8), 1} {
		if !near(p.Data[i], want) {
			t.Errorf("step 1 element %d: %v, want %v", i, p.Data[i], want)
		}
	}
	// Second step by the formula.
	g2 := adjoint.Vector(1, 1, 1)
	before := p.Clone()
	o.Step([]*adjoint.Tensor{p}, []*adjoint.Tensor{g2})
	for i := range 3 {
		m := 0.9*0.1*g1.Data[i] + 0.1*g2.Data[i]
		v := 0.999*0.001*g1.Data[i]*g1.Data[i] + 0.001*g2.Data[i]*g2.Data[i]
		mh, vh := m/(1-0.81), v/(1-0.999*0.999)
		if want := before.Data[i] - 0.01*mh/(math.Sqrt(vh)+1e-8); math.Abs(p.Data[i]-want) > 1e-15 {
			t.Errorf("step 2 element %d: %v, want %v", i, p.Data[i], want)
		}
	}
	// A zero-valued Adam (ε = 0) leaves elements with zero gradient alone.
	z := adjoint.Vector(1, 2)
	(&Adam{LR: 0.1}).Step([]*adjoint.Tensor{z}, []*adjoint.Tensor{adjoint.Vector(0, -3)})
	if z.Data[0] != 1 || z.Data[1] != 2.1 {
		t.Errorf("zero-valued Adam: %v, want [1 2.1]", z.Data)
	}
	// Decoupled weight decay shrinks parameters with zero gradient.
	w := adjoint.Vector(2)
	d := NewAdam(0.1)
	d.DecoupledDecay = 0.5
	d.Step([]*adjoint.Tensor{w}, []*adjoint.Tensor{adjoint.Vector(0)})
	if w.Data[0] != 2-0.1*0.5*2 {
		t.Errorf("weight decay: %v, want 1.9", w.Data[0])
	}
}

func TestClipGlobalNorm(t *testing.T) {
	a, b := adjoint.Vector(3, 0), adjoint.Vector(0, 4)
	n := ClipGlobalNorm([]*adjoint.Tensor{a, b}, 1)
	if n != 5 {
		t.Errorf("norm before clipping %v, want 5", n)
	}
	if !near(a.Data[0], 0.6) || !near(b.Data[1], 0.8) {
		t.Errorf("clipped to %v %v, want [0.6 0] [0 0.8]", a.Data, b.Data)
	}
	if n := ClipGlobalNorm([]*adjoint.Tensor{a, b}, 10); !near(n, 1) || !near(a.Data[0], 0.6) {
		t.Errorf("within the bound: changed to %v (norm %v)", a.Data, n)
	}
	big := adjoint.Vector(1e200, 1e200)
	if n := GlobalNorm([]*adjoint.Tensor{big, big}); !near(n, 2e200) {
		t.Errorf("GlobalNorm overflowed: %v", n)
	}
	mustPanic(t, func() { ClipGlobalNorm(nil, 0) }, "nn: ClipGlobalNorm")
}

// Scheduled sets the rate of each step from its schedule, for SGD and
// Adam alike, also inside a Trainer.
func TestScheduled(t *testing.T) {
	sch := StepDecay{Base: 1, Every: 2, Gamma: 0.5}
	sgd := &SGD{}
	s := &Scheduled{Optimizer: sgd, Schedule: sch}
	p := adjoint.Vector(0)
	for k, want := range []float64{-1, -2, -2.5, -3, -3.25} {
		s.Step([]*adjoint.Tensor{p}, []*adjoint.Tensor{adjoint.Vector(1)})
		if p.Data[0] != want {
			t.Errorf("step %d: θ = %v, want %v", k, p.Data[0], want)
		}
	}
	if s.Steps() != 5 || sgd.LR != 0.25 {
		t.Errorf("steps %d, lr %v", s.Steps(), sgd.LR)
	}
	adam := NewAdam(123)
	m := smallModel(3, 4)
	x := adjoint.Const(randTensor(newRNG(71), 8, 3))
	y := adjoint.Const(randTensor(newRNG(72), 8, 2))
	tr := &Trainer{Model: m, Optimizer: &Scheduled{Optimizer: adam, Schedule: OneCycle{Max: 0.1, Total: 10}}}
	if _, err := tr.Run(10, func(_ int, ps []*adjoint.Var) (*adjoint.Var, []*adjoint.Var) {
		return MSE(m.Apply(ps, x), y), nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := (OneCycle{Max: 0.1, Total: 10}).LR(9); adam.LR != want || want > 1e-5 {
		t.Errorf("Adam's rate after the cycle %v, want %v (the final rate)", adam.LR, want)
	}
	// Closed forms at a few points, and the bounds.
	wc := WarmupCosine{Base: 1, Min: 0.1, Warmup: 4, Total: 12}
	for k, want := range map[int]float64{0: 0, 2: 0.5, 4: 1, 8: 0.55, 12: 0.1, 100: 0.1} {
		if got := wc.LR(k); math.Abs(got-want) > 1e-15 {
			t.Errorf("WarmupCosine.LR(%d) = %v, want %v", k, got, want)
		}
	}
	oc := OneCycle{Max: 1, Total: 100}
	if math.Abs(oc.LR(0)-0.04) > 1e-16 || oc.LR(29) != 1 || math.Abs(oc.LR(99)-4e-6) > 1e-18 || oc.LR(500) != oc.LR(99) {
		t.Errorf("OneCycle: %v %v %v %v", oc.LR(0), oc.LR(29), oc.LR(99), oc.LR(500))
	}
	mustPanic(t, func() { StepDecay{Base: 1}.LR(3) }, "nn: StepDecay")
	mustPanic(t, func() { WarmupCosine{Base: 1, Warmup: 5, Total: 5}.LR(0) }, "nn: WarmupCosine")
	mustPanic(t, func() { OneCycle{Max: 1, Total: 1}.LR(0) }, "nn: OneCycle")
	mustPanic(t, func() { (&Scheduled{Optimizer: sgd}).Step(nil, nil) }, "nn: Scheduled")
}

// Adam's two weight decays: the coupled L2 term is rescaled by the
// adaptive denominator, the decoupled one is not.
func TestAdamDecays(t *testing.T) {
	// With a zero gradient, the first step of L2 decay moves θ by about
	// LR (the normalised step of the penalty's gradient), while AdamW
	// shrinks it by LR·decay·θ.
	l2 := NewAdam(0.1)
	l2.L2 = 0.5
	p := adjoint.Vector(2)
	l2.Step([]*adjoint.Tensor{p}, []*adjoint.Tensor{adjoint.Vector(0)})
	if want := 2 - 0.1*1/(1+1e-8); !near(p.Data[0], want) { // g = L2·θ = 1, m̂/√v̂ = 1
		t.Errorf("L2: %v, want %v", p.Data[0], want)
	}
	w := NewAdamW(0.1, 0.5)
	q := adjoint.Vector(2)
	w.Step([]*adjoint.Tensor{q}, []*adjoint.Tensor{adjoint.Vector(0)})
	if want := 2 * (1 - 0.1*0.5); q.Data[0] != want {
		t.Errorf("AdamW: %v, want %v", q.Data[0], want)
	}
}

// Past Total WarmupCosine holds Min unless Periodic, which continues the
// cosine with period 2·(Total − Warmup) as PyTorch does.
func TestWarmupCosinePastTotal(t *testing.T) {
	s := WarmupCosine{Base: 1, Min: 0.1, Warmup: 2, Total: 12}
	p := s
	p.Periodic = true
	for _, c := range []struct {
		k            int
		held, period float64
	}{
		{12, 0.1, 0.1}, {17, 0.1, 0.55}, {22, 0.1, 1}, {32, 0.1, 0.1}, {42, 0.1, 1},
	} {
		if got := s.LR(c.k); math.Abs(got-c.held) > 1e-15 {
			t.Errorf("LR(%d) = %v, want %v", c.k, got, c.held)
		}
		if got := p.LR(c.k); math.Abs(got-c.period) > 1e-15 {
			t.Errorf("periodic LR(%d) = %v, want %v", c.k, got, c.period)
		}
	}
}
