package physics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/ode"
)

// testModels returns every model at a representative point.
func testModels(t *testing.T) []struct {
	name string
	m    Model
	y, p []float64
} {
	chain, err := NewSpringChain(5, 0.7, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	l96, err := NewLorenz96(8)
	if err != nil {
		t.Fatal(err)
	}
	heat, err := NewHeat1D(6, 2)
	if err != nil {
		t.Fatal(err)
	}
	heat.Left, heat.Right = 1, -0.5
	rng := rand.New(rand.NewPCG(1, 2))
	vec := func(n int, lo, hi float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = lo + (hi-lo)*rng.Float64()
		}
		return v
	}
	return []struct {
		name string
		m    Model
		y, p []float64
	}{
		{"pendulum", &Pendulum{}, []float64{0.7, -0.3}, []float64{1.3, 0.2, 0.5, 1.7}},
		{"lotka-volterra", LotkaVolterra{}, []float64{1.2, 0.8}, []float64{1.5, 1, 3, 1}},
		{"lotka-volterra, CVODES order", LotkaVolterra{Order: AlphaBetaGammaDelta}, []float64{1.2, 0.8}, []float64{1.5, 1, 3, 0.7}},
		{"robertson", Robertson{}, []float64{0.7, 3e-5, 0.3}, []float64{0.04, 1e4, 3e7}},
		{"lorenz63", Lorenz63{}, []float64{1, -2, 20}, []float64{10, 28, 8.0 / 3}},
		{"lorenz96", l96, vec(8, -3, 5), []float64{8}},
		{"spring-chain", chain, vec(10, -1, 1), vec(5, 0.5, 2)},
		{"projectile", &Projectile{}, []float64{3, 4, 12, -5}, []float64{0.03}},
		{"heat", heat, vec(6, -1, 2), vec(13, 0.1, 1)},
		{"neural-field", NeuralField{N: 3, H: 5}, vec(3, -1, 1), vec(NeuralField{N: 3, H: 5}.numParams(), -1, 1)},
	}
}

// TestModelDerivatives checks every model's VJP and JVP against central
// differences of Eval, and VJP against JVP (⟨v, J u⟩ both ways).
func TestModelDerivatives(t *testing.T) {
	const tol = 1e-7
	for _, tc := range testModels(t) {
		t.Run(tc.name, func(t *testing.T) {
			n, np := tc.m.Dims()
			rng := rand.New(rand.NewPCG(3, 4))
			v := make([]float64, n)
			ud := make([]float64, n)
			pd := make([]float64, np)
			for i := range v {
				v[i] = rng.NormFloat64()
				ud[i] = rng.NormFloat64()
			}
			for i := range pd {
				pd[i] = rng.NormFloat64()
			}
			const tm = 0.37
			ybar, pbar := make([]float64, n), make([]float64, np)
			tc.m.VJP(ybar, pbar, tm, tc.y, tc.p, v)
			f := make([]float64, n)
			vf := func(y, p []float64) float64 {
				tc.m.Eval(f, tm, y, p)
				var s float64
				for i := range f {
					s += v[i] * f[i]
				}
				return s
			}
			const h = 1e-6
			fdy := func(x []float64, i int, other func(x []float64) float64) float64 {
				x0 := x[i]
				x[i] = x0 + h
				fp := other(x)
				x[i] = x0 - h
				fm := other(x)
				x[i] = x0
				return (fp - fm) / (2 * h)
			}
			y, p := append([]float64(nil), tc.y...), append([]float64(nil), tc.p...)
			for i := range y {
				want := fdy(y, i, func(y []float64) float64 { return vf(y, p) })
				if math.Abs(ybar[i]-want) > tol*(1+math.Abs(want)) {
					t.Errorf("VJP ybar[%d] = %.10g, FD %.10g", i, ybar[i], want)
				}
			}
			for i := range p {
				want := fdy(p, i, func(p []float64) float64 { return vf(y, p) })
				if math.Abs(pbar[i]-want) > tol*(1+math.Abs(want)) {
					t.Errorf("VJP pbar[%d] = %.10g, FD %.10g", i, pbar[i], want)
				}
			}
			// JVP against VJP: ⟨v, J_y ud + J_p pd⟩ = ⟨ybar, ud⟩ + ⟨pbar, pd⟩.
			jv := make([]float64, n)
			tc.m.JVP(jv, tm, y, p, ud, pd)
			var lhs, rhs float64
			for i := range v {
				lhs += v[i] * jv[i]
				rhs += ybar[i] * ud[i]
			}
			for i := range pd {
				rhs += pbar[i] * pd[i]
			}
			if math.Abs(lhs-rhs) > 1e-10*(1+math.Abs(lhs)) {
				t.Errorf("⟨v, Ju⟩ = %.15g by JVP, %.15g by VJP", lhs, rhs)
			}
			// nil pdot and nil pbar.
			tc.m.JVP(jv, tm, y, p, ud, nil)
			yb2 := make([]float64, n)
			tc.m.VJP(yb2, nil, tm, y, p, v)
			var l2, r2 float64
			for i := range v {
				l2 += v[i] * jv[i]
				r2 += yb2[i] * ud[i]
			}
			if math.Abs(l2-r2) > 1e-10*(1+math.Abs(l2)) {
				t.Errorf("state-only ⟨v, Ju⟩ = %.15g by JVP, %.15g by VJP", l2, r2)
			}
			// A dense Jacobian, where the model has one, matches the JVP.
			if jac, ok := tc.m.(ode.Jacobianer); ok {
				J := mat.NewDense(n, n, nil)
				jac.Jacobian(J, tm, y, p)
				got := make([]float64, n)
				mat.NewVecDense(n, got).MulVec(J, mat.NewVecDense(n, ud))
				tc.m.JVP(jv, tm, y, p, ud, nil)
				for i := range got {
					if math.Abs(got[i]-jv[i]) > 1e-10*(1+math.Abs(jv[i])) {
						t.Errorf("Jacobian·u [%d] = %v, JVP %v", i, got[i], jv[i])
					}
				}
			}
			// So does a dense parameter Jacobian.
			if jac, ok := tc.m.(ode.ParamJacobianer); ok {
				J := mat.NewDense(n, np, nil)
				jac.ParamJacobian(J, tm, y, p)
				got := make([]float64, n)
				mat.NewVecDense(n, got).MulVec(J, mat.NewVecDense(np, pd))
				tc.m.JVP(jv, tm, y, p, make([]float64, n), pd)
				for i := range got {
					if math.Abs(got[i]-jv[i]) > 1e-10*(1+math.Abs(jv[i])) {
						t.Errorf("ParamJacobian·ṗ [%d] = %v, JVP %v", i, got[i], jv[i])
					}
				}
			}
			// And ∂f/∂t matches central differences in t.
			if td, ok := tc.m.(ode.TimeDeriver); ok {
				got := make([]float64, n)
				td.TimeDeriv(got, tm, y, p)
				fp, fm := make([]float64, n), make([]float64, n)
				tc.m.Eval(fp, tm+h, y, p)
				tc.m.Eval(fm, tm-h, y, p)
				for i := range got {
					if want := (fp[i] - fm[i]) / (2 * h); math.Abs(got[i]-want) > tol*(1+math.Abs(want)) {
						t.Errorf("∂f%d/∂t = %v, FD %v", i, got[i], want)
					}
				}
			}
		})
	}
}

// TestLotkaVolterraOrders checks that the two parameter orders describe the
// same model.
func TestLotkaVolterraOrders(t *testing.T) {
	y := []float64{1.2, 0.8}
	abdg := []float64{1.5, 1, 0.7, 3} // α, β, δ, γ
	abgd := []float64{1.5, 1, 3, 0.7} // α, β, γ, δ
	f1, f2 := make([]float64, 2), make([]float64, 2)
	LotkaVolterra{}.Eval(f1, 0, y, abdg)
	LotkaVolterra{Order: AlphaBetaGammaDelta}.Eval(f2, 0, y, abgd)
	// x' = 1.5·1.2 − 1.2·0.8 = 0.84; y' = 0.7·1.2·0.8 − 3·0.8 = −1.728.
	if math.Abs(f1[0]-0.84) > 1e-15 || math.Abs(f1[1]+1.728) > 1e-15 || f1[0] != f2[0] || f1[1] != f2[1] {
		t.Errorf("f = %v in the order α, β, δ, γ and %v in the order α, β, γ, δ; want [0.84 -1.728]", f1, f2)
	}
	err := LotkaVolterra{Order: AlphaBetaGammaDelta}.CheckParams([]float64{1, 1, -1, 1})
	if err == nil || !strings.Contains(err.Error(), "γ") {
		t.Errorf("negative γ in the CVODES order: %v", err)
	}
}

// TestBadConfigs checks that bad configurations are returned errors.
func TestBadConfigs(t *testing.T) {
	lv := LotkaVolterra{}
	good, err := NewProblem(lv, []float64{1, 1}, []float64{1, 1, 1, 1}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"negative pendulum length", func() error {
			_, err := NewProblem(&Pendulum{}, []float64{0, 0}, []float64{-1, 0, 0, 0}, 0, 1)
			return err
		}, "length"},
		{"negative damping", func() error {
			_, err := NewProblem(&Pendulum{}, []float64{0, 0}, []float64{1, -0.1, 0, 0}, 0, 1)
			return err
		}, "damping"},
		{"chain N = 0", func() error { _, err := NewSpringChain(0, 1, 0); return err }, "N ≥ 1"},
		{"chain mass 0", func() error { _, err := NewSpringChain(3, 0, 0); return err }, "mass"},
		{"negative stiffness", func() error {
			c, _ := NewSpringChain(2, 1, 0)
			_, err := NewProblem(c, make([]float64, 4), []float64{1, -1}, 0, 1)
			return err
		}, "stiffness"},
		{"lorenz96 N = 3", func() error { _, err := NewLorenz96(3); return err }, "N ≥ 4"},
		{"heat N = 0", func() error { _, err := NewHeat1D(0, 1); return err }, "N ≥ 1"},
		{"heat negative length", func() error { _, err := NewHeat1D(4, -1); return err }, "length"},
		{"negative drag", func() error {
			_, err := NewProblem(&Projectile{}, LaunchState(10, 1, 0), []float64{-0.1}, 0, 5)
			return err
		}, "drag"},
		{"wrong y0 length", func() error { _, err := NewProblem(lv, []float64{1}, []float64{1, 1, 1, 1}, 0, 1); return err }, "initial state"},
		{"empty window", func() error { _, err := NewProblem(lv, []float64{1, 1}, []float64{1, 1, 1, 1}, 2, 2); return err }, "time window"},
		{"NaN parameter", func() error {
			_, err := NewProblem(lv, []float64{1, 1}, []float64{1, math.NaN(), 1, 1}, 0, 1)
			return err
		}, "parameter 1"},
		{"observation outside window", func() error {
			e := &Estimation{Problem: good, Times: []float64{1, 11}, Data: [][]float64{{1, 1}, {1, 1}}, Params: []int{0}}
			return e.Validate()
		}, "outside the window"},
		{"observations out of order", func() error {
			e := &Estimation{Problem: good, Times: []float64{2, 1}, Data: [][]float64{{1, 1}, {1, 1}}, Params: []int{0}}
			return e.Validate()
		}, "direction"},
		{"no unknowns", func() error {
			e := &Estimation{Problem: good, Times: []float64{1}, Data: [][]float64{{1, 1}}}
			return e.Validate()
		}, "no unknowns"},
		{"bad data row", func() error {
			e := &Estimation{Problem: good, Times: []float64{1}, Data: [][]float64{{1}}, Params: []int{0}}
			return e.Validate()
		}, "data row"},
		{"parameter index", func() error {
			e := &Estimation{Problem: good, Times: []float64{1}, Data: [][]float64{{1, 1}}, Params: []int{4}}
			return e.Validate()
		}, "out of range"},
		{"negative Tikhonov", func() error {
			e := &Estimation{Problem: good, Times: []float64{1}, Data: [][]float64{{1, 1}}, Params: []int{0}, Tikhonov: -1}
			return e.Validate()
		}, "Tikhonov"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatalf("no error, want one mentioning %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), "physics: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want a physics: error mentioning %q", err, tc.want)
			}
		})
	}
}

// TestMisusePanics checks that a wrong-length slice panics with a physics:
// message.
func TestMisusePanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.HasPrefix(fmt.Sprint(r), "physics: ") {
			t.Errorf("recovered %v, want a physics: panic", r)
		}
	}()
	(&Pendulum{}).CheckParams([]float64{1})
}
