package adjoint

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
)

// engTanhStep is x_{k+1} = tanh(W x_k + b) + 0.1·c·sin(x_k) + 0.01·k·c,
// with θ = (W, b, c) packed by its layout.
type engTanhStep struct {
	d      int
	layout Layout
	pre    []float64
}

func newEngTanhStep(d int) *engTanhStep {
	return &engTanhStep{d: d, layout: NewLayout([]int{d, d}, []int{d}, []int{}), pre: make([]float64, d)}
}

var _ Step = (*engTanhStep)(nil)

func (s *engTanhStep) Eval(next []float64, k int, x, theta []float64) {
	w, b, c := s.layout.Part(theta, 0), s.layout.Part(theta, 1), s.layout.Part(theta, 2)[0]
	for i := 0; i < s.d; i++ {
		p := b[i]
		for j := 0; j < s.d; j++ {
			p += w[i*s.d+j] * x[j]
		}
		next[i] = math.Tanh(p) + 0.1*c*math.Sin(x[i]) + 0.01*float64(k)*c
	}
}

func (s *engTanhStep) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	w, b, c := s.layout.Part(theta, 0), s.layout.Part(theta, 1), s.layout.Part(theta, 2)[0]
	wbar, bbar, cbar := s.layout.Part(thetabar, 0), s.layout.Part(thetabar, 1), s.layout.Part(thetabar, 2)
	for i := 0; i < s.d; i++ {
		p := b[i]
		for j := 0; j < s.d; j++ {
			p += w[i*s.d+j] * x[j]
		}
		th := math.Tanh(p)
		g := nextbar[i] * (1 - th*th)
		for j := 0; j < s.d; j++ {
			xbar[j] += w[i*s.d+j] * g
			wbar[i*s.d+j] += g * x[j]
		}
		bbar[i] += g
		xbar[i] += 0.1 * c * math.Cos(x[i]) * nextbar[i]
		cbar[0] += (0.1*math.Sin(x[i]) + 0.01*float64(k)) * nextbar[i]
	}
}

// engQuadLoss has running terms ℓ_k = ½ Σ_i (x_i − sin(0.3k+i))² + 0.01 c²
// and terminal term ℓ_T = Σ_i x_i² + c·x_0.
type engQuadLoss struct{ layout Layout }

var (
	_ Loss        = engQuadLoss{}
	_ RunningLoss = engQuadLoss{}
)

func (l engQuadLoss) c(theta []float64) float64 { return l.layout.Part(theta, 2)[0] }

func (l engQuadLoss) Terminal(x, theta []float64) float64 {
	return floats.Dot(x, x) + l.c(theta)*x[0]
}

func (l engQuadLoss) TerminalGrad(xbar, thetabar, x, theta []float64) {
	for i, v := range x {
		xbar[i] += 2 * v
	}
	xbar[0] += l.c(theta)
	l.layout.Part(thetabar, 2)[0] += x[0]
}

func (l engQuadLoss) Running(k int, x, theta []float64) float64 {
	var v float64
	for i, xi := range x {
		r := xi - math.Sin(0.3*float64(k)+float64(i))
		v += 0.5 * r * r
	}
	c := l.c(theta)
	return v + 0.01*c*c
}

func (l engQuadLoss) RunningGrad(xbar, thetabar []float64, k int, x, theta []float64) {
	for i, xi := range x {
		xbar[i] += xi - math.Sin(0.3*float64(k)+float64(i))
	}
	l.layout.Part(thetabar, 2)[0] += 0.02 * l.c(theta)
}

// engTerminalOnly hides the running terms of engQuadLoss.
type engTerminalOnly struct{ l engQuadLoss }

var _ Loss = engTerminalOnly{}

func (t engTerminalOnly) Terminal(x, theta []float64) float64 { return t.l.Terminal(x, theta) }
func (t engTerminalOnly) TerminalGrad(xbar, thetabar, x, theta []float64) {
	t.l.TerminalGrad(xbar, thetabar, x, theta)
}

// engProblem returns a deterministic test problem of state size d.
func engProblem(d int) (*engTanhStep, engQuadLoss, []float64, []float64) {
	step := newEngTanhStep(d)
	theta := make([]float64, step.layout.Size())
	for i := range theta {
		theta[i] = 0.6 * math.Sin(1.7*float64(i)+0.4)
	}
	step.layout.Part(theta, 2)[0] = 0.7
	x0 := make([]float64, d)
	for i := range x0 {
		x0[i] = 0.5 * math.Cos(float64(i)+0.2)
	}
	return step, engQuadLoss{layout: step.layout}, x0, theta
}

// engForwardLoss evaluates the loss by a plain forward loop.
func engForwardLoss(step Step, loss Loss, x0, theta []float64, n int) float64 {
	x := append([]float64(nil), x0...)
	next := make([]float64, len(x0))
	var v float64
	rl, _ := loss.(RunningLoss)
	for k := 0; k < n; k++ {
		if rl != nil {
			v += rl.Running(k, x, theta)
		}
		step.Eval(next, k, x, theta)
		x, next = next, x
	}
	return v + loss.Terminal(x, theta)
}

func engPolicies(n int) []Policy {
	ps := []Policy{StoreAll()}
	for _, k := range []int{1, 2, 3, 7, n, n + 5} {
		if k >= 1 {
			ps = append(ps, Every(k))
		}
	}
	for _, s := range []int{1, 2, 3, 5, n, n + 3} {
		if s >= 1 {
			ps = append(ps, Binomial(s))
		}
	}
	return ps
}

// everyExpect returns the documented evaluations and peak of Every(k).
func everyExpect(n, k int) (evals, peak int) {
	if n == 0 {
		return 0, 0
	}
	m := (n + k - 1) / k
	r := n - (m-1)*k
	evals = n + (m-1)*(k-1)
	if m == 1 {
		return evals, n
	}
	return evals, max(m-2+k, m-1+r)
}

func TestRecurrencePoliciesBitIdenticalAndFD(t *testing.T) {
	const d = 3
	step, loss, x0, theta := engProblem(d)
	for _, n := range []int{0, 1, 2, 5, 13, 30} {
		for _, online := range []bool{false, true} {
			refX := make([]float64, d)
			refT := make([]float64, len(theta))
			var refLams [][]float64
			refRes, err := Recurrence(refX, refT, step, loss, x0, theta, n, StoreAll(), &RecurrenceSettings{
				OnAdjoint: func(k int, lam []float64) { refLams = append(refLams, append([]float64{float64(k)}, lam...)) },
			})
			if err != nil {
				t.Fatalf("n=%d StoreAll: %v", n, err)
			}
			if refRes.Loss != engForwardLoss(step, loss, x0, theta, n) {
				t.Errorf("n=%d: loss %v differs from a plain forward loop", n, refRes.Loss)
			}
			if len(refLams) != n+1 || (n > 0 && refLams[0][0] != float64(n)) || refLams[n][0] != 0 {
				t.Fatalf("n=%d: OnAdjoint saw %d calls, want k = n…0", n, len(refLams))
			}
			if !floats.Equal(refLams[n][1:], refX) {
				t.Errorf("n=%d: OnAdjoint λ_0 differs from dL/dx0", n)
			}

			// Finite differences of the loss with respect to (x0, θ).
			z := append(append([]float64(nil), x0...), theta...)
			fdg := fd.Gradient(nil, func(z []float64) float64 {
				return engForwardLoss(step, loss, z[:d], z[d:], n)
			}, z, &fd.Settings{Formula: fd.Central})
			got := append(append([]float64(nil), refX...), refT...)
			for i := range got {
				if diff := math.Abs(got[i] - fdg[i]); diff > 1e-7*(1+math.Abs(fdg[i])) {
					t.Errorf("n=%d: gradient[%d] = %.12g, finite differences %.12g", n, i, got[i], fdg[i])
				}
			}

			for _, p := range engPolicies(n) {
				set := &RecurrenceSettings{}
				limit := n
				if online {
					limit = -1
					set.Stop = func(k int, x []float64) bool { return k == n }
				}
				var lams [][]float64
				set.OnAdjoint = func(k int, lam []float64) { lams = append(lams, append([]float64{float64(k)}, lam...)) }
				gx := make([]float64, d)
				gt := make([]float64, len(theta))
				for i := range gt {
					gt[i] = 123 // must be overwritten
				}
				res, err := Recurrence(gx, gt, step, loss, x0, theta, limit, p, set)
				name := fmt.Sprintf("n=%d online=%v %v", n, online, p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if res.Loss != refRes.Loss || !floats.Equal(gx, refX) || !floats.Equal(gt, refT) {
					t.Errorf("%s: not bit-identical to StoreAll", name)
				}
				for i, g := range append(append([]float64(nil), gx...), gt...) {
					if math.Abs(g-fdg[i]) > 1e-7*(1+math.Abs(fdg[i])) {
						t.Errorf("%s: gradient[%d] = %.12g, finite differences %.12g", name, i, g, fdg[i])
					}
				}
				if len(lams) != len(refLams) {
					t.Fatalf("%s: %d adjoint hook calls, want %d", name, len(lams), len(refLams))
				}
				for i := range lams {
					if !floats.Equal(lams[i], refLams[i]) {
						t.Errorf("%s: hook λ_%v differs from StoreAll", name, lams[i][0])
						break
					}
				}
				if res.Steps != n || res.VJPs != n {
					t.Errorf("%s: Steps=%d VJPs=%d, want %d", name, res.Steps, res.VJPs, n)
				}
				var wantEvals, wantPeak int
				switch p.kind {
				case policyStoreAll:
					wantEvals, wantPeak = everyExpect(n, 1)
				case policyEvery:
					wantEvals, wantPeak = everyExpect(n, p.k)
				case policyBinomial:
					wantEvals = BinomialEvals(n, p.k)
					if online && n > 0 {
						wantEvals = n + revolveCost(n-1, p.k)
					}
					wantPeak = -1
					if res.PeakStored > min(p.k, n) {
						t.Errorf("%s: peak stored %d > min(s, n) = %d", name, res.PeakStored, min(p.k, n))
					}
				}
				if res.Evals != wantEvals {
					t.Errorf("%s: %d step evaluations, want %d", name, res.Evals, wantEvals)
				}
				if wantPeak >= 0 && res.PeakStored != wantPeak {
					t.Errorf("%s: peak stored %d, want %d", name, res.PeakStored, wantPeak)
				}
			}
		}
	}
}

func TestRecurrenceTerminalOnlyAndNilDst(t *testing.T) {
	step, loss, x0, theta := engProblem(4)
	const n = 9
	lt := engTerminalOnly{loss}
	want := make([]float64, len(theta))
	res, err := Recurrence(nil, want, step, lt, x0, theta, n, StoreAll(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != engForwardLoss(step, lt, x0, theta, n) {
		t.Errorf("loss %v, want %v", res.Loss, engForwardLoss(step, lt, x0, theta, n))
	}
	fdg := fd.Gradient(nil, func(th []float64) float64 { return engForwardLoss(step, lt, x0, th, n) }, theta, &fd.Settings{Formula: fd.Central})
	for i := range want {
		if math.Abs(want[i]-fdg[i]) > 1e-7*(1+math.Abs(fdg[i])) {
			t.Errorf("dL/dθ[%d] = %v, finite differences %v", i, want[i], fdg[i])
		}
	}
	gx := make([]float64, len(x0))
	if _, err := Recurrence(gx, nil, step, lt, x0, theta, n, Binomial(2), nil); err != nil {
		t.Fatal(err)
	}
	ref := make([]float64, len(x0))
	Recurrence(ref, nil, step, lt, x0, theta, n, StoreAll(), nil)
	if !floats.Equal(gx, ref) {
		t.Error("Binomial(2) with nil dstThetabar differs from StoreAll")
	}
}

func TestRecurrenceOnState(t *testing.T) {
	step, loss, x0, theta := engProblem(2)
	const n = 11
	for _, p := range []Policy{StoreAll(), Every(3), Binomial(2)} {
		var ks []int
		var last []float64
		_, err := Recurrence(nil, nil, step, loss, x0, theta, n, p, &RecurrenceSettings{
			OnState: func(k int, x []float64) { ks = append(ks, k); last = append(last[:0], x...) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) != n+1 {
			t.Fatalf("%v: OnState called %d times, want %d", p, len(ks), n+1)
		}
		for i, k := range ks {
			if k != i {
				t.Fatalf("%v: OnState order %v", p, ks)
			}
		}
		// The last state must be x_n.
		x := append([]float64(nil), x0...)
		nx := make([]float64, len(x))
		for k := 0; k < n; k++ {
			step.Eval(nx, k, x, theta)
			x, nx = nx, x
		}
		if !floats.Equal(last, x) {
			t.Errorf("%v: OnState(n) got %v, want %v", p, last, x)
		}
	}
}

func TestRecurrenceStopWithLimit(t *testing.T) {
	step, loss, x0, theta := engProblem(2)
	// The limit wins when Stop never fires.
	for _, p := range []Policy{StoreAll(), Every(4), Binomial(3)} {
		res, err := Recurrence(nil, nil, step, loss, x0, theta, 7, p, &RecurrenceSettings{
			Stop: func(int, []float64) bool { return false },
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != 7 || res.Loss != engForwardLoss(step, loss, x0, theta, 7) {
			t.Errorf("%v: steps %d loss %v", p, res.Steps, res.Loss)
		}
	}
}

// engBlowUp is x_{k+1} = x_k·10^100, which overflows after a few steps.
type engBlowUp struct{}

var _ Step = engBlowUp{}

func (engBlowUp) Eval(next []float64, k int, x, theta []float64) {
	for i := range x {
		next[i] = x[i] * 1e100
	}
}

func (engBlowUp) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	for i := range x {
		xbar[i] += 1e100 * nextbar[i]
	}
}

// engSumSq is ℓ_T = scale·Σ x², with no θ dependence.
type engSumSq struct{ scale float64 }

var _ Loss = engSumSq{}

func (l engSumSq) Terminal(x, theta []float64) float64 { return l.scale * floats.Dot(x, x) }
func (l engSumSq) TerminalGrad(xbar, thetabar, x, theta []float64) {
	for i, v := range x {
		xbar[i] += 2 * l.scale * v
	}
}

// engSum is ℓ_T = Σ x.
type engSum struct{}

var _ Loss = engSum{}

func (engSum) Terminal(x, theta []float64) float64 { return floats.Sum(x) }
func (engSum) TerminalGrad(xbar, thetabar, x, theta []float64) {
	for i := range xbar {
		xbar[i]++
	}
}

func TestRecurrenceNonFinite(t *testing.T) {
	x0 := []float64{1, 2}
	for _, p := range []Policy{StoreAll(), Every(2), Binomial(2), Binomial(1)} {
		_, err := Recurrence(nil, nil, engBlowUp{}, engSumSq{1}, x0, nil, 10, p, nil)
		if !errors.Is(err, ErrNonFinite) {
			t.Fatalf("%v: error %v, want ErrNonFinite", p, err)
		}
		// x_3 = 10^300·(1, 2) is finite, x_4 is not.
		if !strings.Contains(err.Error(), "step 3 ") {
			t.Errorf("%v: error %q does not name step 3", p, err)
		}
	}
	// A loss that overflows although the state is finite.
	_, err := Recurrence(nil, nil, engBlowUp{}, engSumSq{1}, x0, nil, 2, StoreAll(), nil)
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "terminal loss") {
		t.Errorf("terminal overflow: %v", err)
	}
	// A non-finite adjoint: the states stay finite, λ_0 = 10^400 does not.
	_, err = Recurrence(nil, nil, engBlowUp{}, engSum{}, []float64{1e-200, 1e-200}, nil, 4, Binomial(2), nil)
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "adjoint λ_") {
		t.Errorf("adjoint overflow: %v", err)
	}
	// A non-finite initial state.
	_, err = Recurrence(nil, nil, engBlowUp{}, engSumSq{1}, []float64{math.NaN()}, nil, 3, Binomial(2), nil)
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "x_0") {
		t.Errorf("NaN x0: %v", err)
	}
}

func TestRecurrencePanics(t *testing.T) {
	step, loss, x0, theta := engProblem(2)
	cases := map[string]func(){
		"dstX0bar":     func() { Recurrence(make([]float64, 3), nil, step, loss, x0, theta, 3, StoreAll(), nil) },
		"dstThetabar":  func() { Recurrence(nil, make([]float64, 1), step, loss, x0, theta, 3, StoreAll(), nil) },
		"nil step":     func() { Recurrence(nil, nil, nil, loss, x0, theta, 3, StoreAll(), nil) },
		"negative n":   func() { Recurrence(nil, nil, step, loss, x0, theta, -1, StoreAll(), nil) },
		"Every(0)":     func() { Every(0) },
		"Binomial(0)":  func() { Binomial(0) },
		"BinomialEval": func() { BinomialEvals(-1, 2) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "adjoint: ") {
					t.Errorf("%s: panic %v, want an \"adjoint: \" message", name, r)
				}
			}()
			f()
		}()
	}
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []Policy{StoreAll(), Every(1), Every(100), Binomial(1), Binomial(12)} {
		q, err := ParsePolicy(p.String())
		if err != nil || q != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), q, err)
		}
	}
	if q, err := ParsePolicy(" binomial( 7 ) "); err != nil || q != Binomial(7) {
		t.Errorf("lenient parse: %v, %v", q, err)
	}
	for _, s := range []string{"", "every", "Every(0)", "Every(x)", "Binomial(-2)", "revolve(3)"} {
		if _, err := ParsePolicy(s); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", s)
		}
	}
}
